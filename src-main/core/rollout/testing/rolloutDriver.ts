/**
 * Drives the pure rollout machine the way the service does (tick, then send what the rows call for) against a
 * scripted fleet, for tests of the core. Devices change only when a test tells them to.
 */
import type { RolloutDevice, RolloutRecord, RolloutSpec } from '../../../../src-shared/domain/rollout.ts'
import type { DeviceObservation } from '../observeDevice.ts'
import { planRollout, type FleetDevice, type ResolvedVariant } from '../planRollout.ts'
import {
  applyOperatorAction,
  applySendReceipt,
  createDraft,
  pendingSends,
  startRollout,
  tickRollout,
  withdrawInstall,
  type DirectiveRequest,
  type OperatorAction,
  type RolloutChange,
  type RolloutEffect,
} from '../rolloutMachine.ts'
import { aFleet, cpuVariant, OLD_SHA } from './builders.ts'

export const START_MS = Date.parse('2025-03-01T00:00:00.000Z')

export function createRolloutDriver(spec: RolloutSpec, options: { fleet?: FleetDevice[]; variants?: ResolvedVariant[] } = {}) {
  let nowMs = START_MS
  const iso = () => new Date(nowMs).toISOString()
  const fleet = options.fleet ?? aFleet(20)
  const variants = options.variants ?? [cpuVariant]
  const plan = planRollout(fleet, { variants, target: spec.target, waves: spec.waves }, iso())
  const draft = createDraft({ rolloutId: 'r-0123456789ab', spec, plan, actor: 'alice', reason: 'test', now: iso() })
  let rollout: RolloutRecord = draft.rollout
  let rows: RolloutDevice[] = draft.devices
  const effects: RolloutEffect[] = [...draft.effects]
  const observations = new Map<string, DeviceObservation>(
    fleet.map((device) => [
      device.deviceId,
      {
        deviceId: device.deviceId,
        isOnline: device.isOnline,
        reportedDirectiveSeq: 0,
        latestDirectiveSeq: null,
        installState: 'committed',
        installErrorCode: null,
        activeSha256: device.active?.sha256 ?? OLD_SHA,
        latency: null,
      },
    ]),
  )
  /** Every directive sent, in order. */
  const sent: DirectiveRequest[] = []

  const apply = (change: RolloutChange) => {
    rollout = change.rollout
    rows = change.devices
    effects.push(...change.effects)
    return change
  }

  return {
    plan,
    sent,
    effects,
    get rollout() {
      return rollout
    },
    get rows() {
      return rows
    },
    row(deviceId: string): RolloutDevice {
      const row = rows.find((candidate) => candidate.deviceId === deviceId)
      if (!row) throw new Error(`no row ${deviceId}`)
      return row
    },
    nowIso: iso,
    advance(ms: number) {
      nowMs += ms
    },
    start() {
      return apply(startRollout(rollout, plan, 'alice', 'go', iso()))
    },
    act(action: OperatorAction) {
      return apply(applyOperatorAction(rollout, rows, action, iso()))
    },
    tick(drift: { score: number; sampleCount: number } | null = null) {
      return apply(tickRollout({ rollout, devices: rows, observations, drift, now: iso() }))
    },
    /** Sends what the rows call for, as the service would; each send gets the device's next seq. */
    send(): DirectiveRequest[] {
      const { sends, staleInstalls } = pendingSends(rollout, rows)
      const byId = new Map(rows.map((row, index) => [row.deviceId, index]))
      rows = [...rows]
      for (const stale of staleInstalls) rows[byId.get(stale.deviceId) ?? 0] = withdrawInstall(stale)
      for (const request of sends) {
        const observation = observations.get(request.deviceId)
        const index = byId.get(request.deviceId)
        if (!observation || index === undefined) continue
        const seq = (observation.latestDirectiveSeq ?? 0) + 1
        observations.set(request.deviceId, { ...observation, latestDirectiveSeq: seq })
        rows[index] = applySendReceipt(rows[index] as RolloutDevice, request, seq, iso())
        sent.push(request)
      }
      return sends
    },
    /** The device reports: accepted its newest directive, plus whatever the patch says. */
    report(deviceId: string, patch: Partial<DeviceObservation>) {
      const observation = observations.get(deviceId)
      if (!observation) throw new Error(`no device ${deviceId}`)
      observations.set(deviceId, { ...observation, reportedDirectiveSeq: observation.latestDirectiveSeq ?? 0, ...patch })
    },
    observation(deviceId: string) {
      return observations.get(deviceId)
    },
    /** Devices whose newest directive has not been answered yet. */
    awaiting(): string[] {
      return [...observations.values()].filter((o) => o.latestDirectiveSeq !== null && o.reportedDirectiveSeq < o.latestDirectiveSeq).map((o) => o.deviceId)
    },
  }
}

export type RolloutDriver = ReturnType<typeof createRolloutDriver>
