/**
 * Dry run (issue 6 §6): runs the real planner and state machine against a simulated fleet, step by step, and
 * reports the timeline, how many devices got the release before a halt, and the time to 100 %. Devices behave by a
 * seeded draw: online or not, install fails, health check fails, install duration. Approvals are granted at once
 * (the dry run shows the machine's pace, not the operator's). Pure and deterministic for a given seed.
 */
import type { DryRunResult, GateReason, RolloutDevice, RolloutRecord, RolloutSpec, SimulationInput, TimelinePoint } from '../../../src-shared/domain/rollout.ts'
import type { DeviceObservation } from './observeDevice.ts'
import { planRollout, type FleetDevice, type ResolvedVariant } from './planRollout.ts'
import { applyOperatorAction, applySendReceipt, createDraft, pendingSends, startRollout, tickRollout, TERMINAL_STATUSES, withdrawInstall, type RolloutChange } from './rolloutMachine.ts'
import { createSeededRandom } from './seededRandom.ts'

export interface SimulationOptions {
  fleet: readonly FleetDevice[]
  spec: RolloutSpec
  variants: readonly ResolvedVariant[]
  simulation: SimulationInput
  startMs: number
  /** Bound on simulated steps. */
  maxSteps?: number
}

const DEFAULT_MAX_STEPS = 20_000
const MAX_TIMELINE_POINTS = 400
/** The p95 every simulated device reports on the release it runs now. */
const BASELINE_P95_MS = 10
const ALWAYS_FRESH = '9999-12-31T23:59:59.999Z'

interface SimulatedDevice {
  isOnline: boolean
  failsInstall: boolean
  failsHealth: boolean
  installMs: number
  latestSeq: number
  reportedSeq: number
  activeSha256: string | null
  installState: DeviceObservation['installState']
  errorCode: string | null
  /** The directive in progress: what it installs and when it finishes. */
  work: { seq: number; sha256: string; isRollback: boolean; doneAtMs: number } | null
}

/** Synthetic CPU devices for a dry run without a fleet: sim-00001 ... */
export function syntheticFleet(deviceCount: number): FleetDevice[] {
  return Array.from({ length: deviceCount }, (_, index) => ({
    deviceId: `sim-${String(index + 1).padStart(5, '0')}`,
    tags: [],
    groups: [],
    isOnline: true,
    hardware: { arch: 'x64', memoryBytes: 8 * 1024 ** 3, accelerators: [] },
    executionProviders: ['cpu'],
    active: null,
  }))
}

export function simulateRollout(options: SimulationOptions): DryRunResult {
  const { spec, simulation } = options
  const random = createSeededRandom(simulation.seed)
  const stepMs = simulation.timeStepMs
  const iso = (ms: number) => new Date(ms).toISOString()
  let nowMs = options.startMs
  const plan = planRollout(options.fleet, { variants: options.variants, target: spec.target, waves: spec.waves }, iso(nowMs))
  const draft = createDraft({ rolloutId: 'r-000000000000', spec, plan, actor: 'dry-run', reason: 'dry run', now: iso(nowMs) })
  let change: RolloutChange = startRollout(draft.rollout, plan, 'dry-run', 'dry run', iso(nowMs))
  let rollout: RolloutRecord = change.rollout
  let rows: RolloutDevice[] = change.devices

  const fleetById = new Map(options.fleet.map((device) => [device.deviceId, device]))
  const devices = new Map<string, SimulatedDevice>()
  for (const row of rows) {
    const isOnline = random() < simulation.onlineRatio
    const failsInstall = random() < simulation.failureRate
    const failsHealth = random() < simulation.healthFailureRate
    devices.set(row.deviceId, {
      isOnline,
      failsInstall,
      failsHealth: !failsInstall && failsHealth,
      installMs: Math.round(simulation.installDurationMs * (0.5 + random())),
      latestSeq: 0,
      reportedSeq: 0,
      activeSha256: fleetById.get(row.deviceId)?.active?.sha256 ?? null,
      installState: 'idle',
      errorCode: null,
      work: null,
    })
  }

  const targetById = new Map(rows.map((row) => [row.deviceId, row.target?.sha256 ?? null]))
  // Simulated devices report latency all the time: their newest window is always fresh.
  const observe = (deviceId: string, device: SimulatedDevice): DeviceObservation => ({
    deviceId,
    isOnline: device.isOnline,
    reportedDirectiveSeq: device.reportedSeq,
    latestDirectiveSeq: device.latestSeq === 0 ? null : device.latestSeq,
    installState: device.installState,
    installErrorCode: device.errorCode,
    activeSha256: device.activeSha256,
    latency: device.isOnline
      ? { p95Ms: device.activeSha256 !== null && device.activeSha256 === targetById.get(deviceId) ? BASELINE_P95_MS * simulation.latencyRatio : BASELINE_P95_MS, windowEndAt: ALWAYS_FRESH }
      : null,
  })
  const observations = new Map<string, DeviceObservation>([...devices].map(([deviceId, device]) => [deviceId, observe(deviceId, device)]))
  /** Devices with a directive in progress: the only ones whose reports can change. */
  const busy = new Set<string>()
  const timeline: TimelinePoint[] = []
  const waveTimes = new Map<number, { startedAtMs: number | null; finishedAtMs: number | null }>()
  const counts = () => {
    let sentCount = 0
    let committedCount = 0
    let failedCount = 0
    let silentCount = 0
    for (const row of rows) {
      if (row.attempt > 0) sentCount += 1
      if (row.status === 'committed' && row.wave !== null) committedCount += 1
      if (row.status === 'failed' || row.status === 'timed-out' || row.status === 'rolled-back') failedCount += 1
      if (row.status === 'silent') silentCount += 1
    }
    return { sentCount, committedCount, failedCount, silentCount }
  }
  const record = (event: string | null) => {
    timeline.push({ atMs: nowMs - options.startMs, wave: rollout.currentWave, status: rollout.status, ...counts(), event })
  }
  const noteWaves = () => {
    for (const wave of rollout.waves) {
      const times = waveTimes.get(wave.index) ?? { startedAtMs: null, finishedAtMs: null }
      if (times.startedAtMs === null && wave.startedAt !== null) times.startedAtMs = Date.parse(wave.startedAt) - options.startMs
      if (times.finishedAtMs === null && wave.finishedAt !== null) times.finishedAtMs = Date.parse(wave.finishedAt) - options.startMs
      waveTimes.set(wave.index, times)
    }
  }
  const eventsOf = (effects: RolloutChange['effects']) =>
    effects.flatMap((effect) => (effect.type === 'record-audit' ? [`${effect.entry.action.replace('rollout.', '')}: ${effect.entry.reason}`.slice(0, 200)] : []))

  record('started')
  noteWaves()
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS
  const longestSoakMs = Math.max(0, ...spec.waves.map((wave) => wave.soakMs))
  const stallSteps = Math.ceil((spec.timeouts.silenceTimeoutMs + spec.timeouts.installTimeoutMs + longestSoakMs) / stepMs) + 5
  let quietSteps = 0
  let outcome: DryRunResult['outcome'] = 'stalled'
  let lastCounts = JSON.stringify(counts())

  for (let step = 0; step < maxSteps; step += 1) {
    if (TERMINAL_STATUSES.has(rollout.status)) break
    nowMs += stepMs
    const now = iso(nowMs)
    for (const deviceId of busy) {
      const device = devices.get(deviceId)
      if (!device || !advanceDevice(device, nowMs)) continue
      if (device.work === null) busy.delete(deviceId)
      observations.set(deviceId, observe(deviceId, device))
    }
    change = tickRollout({ rollout, devices: rows, observations, drift: null, now })
    rollout = change.rollout
    rows = change.devices
    const events = eventsOf(change.effects)
    if (rollout.status === 'waiting-approval') {
      change = applyOperatorAction(rollout, rows, { type: 'approve', actor: 'dry-run', reason: 'dry run approves every wave' }, now)
      rollout = change.rollout
      rows = change.devices
      events.push(...eventsOf(change.effects))
    }
    const { sends, staleInstalls } = pendingSends(rollout, rows)
    if (sends.length > 0 || staleInstalls.length > 0) {
      const byId = new Map(rows.map((row, index) => [row.deviceId, index]))
      rows = [...rows]
      for (const stale of staleInstalls) {
        const index = byId.get(stale.deviceId)
        if (index !== undefined) rows[index] = withdrawInstall(stale)
      }
      for (const request of sends) {
        const device = devices.get(request.deviceId)
        const index = byId.get(request.deviceId)
        const row = index === undefined ? undefined : rows[index]
        if (!device || index === undefined || !row) continue
        device.latestSeq += 1
        device.work = { seq: device.latestSeq, sha256: request.artifact.sha256, isRollback: request.action === 'rollback', doneAtMs: nowMs + device.installMs }
        busy.add(request.deviceId)
        observations.set(request.deviceId, observe(request.deviceId, device))
        rows[index] = applySendReceipt(row, request, device.latestSeq, now)
      }
    }
    noteWaves()
    const currentCounts = JSON.stringify(counts())
    const isQuiet = !change.isChanged && sends.length === 0 && currentCounts === lastCounts
    quietSteps = isQuiet ? quietSteps + 1 : 0
    lastCounts = currentCounts
    if (events.length > 0 || !isQuiet) record(events.join(' | ') || null)
    if (quietSteps >= stallSteps) break
  }
  if (rollout.status === 'completed') outcome = 'completed'
  else if (rollout.status === 'halted' || rollout.status === 'aborted') outcome = 'halted'

  const completedAt = rollout.status === 'completed' && rollout.finishedAt !== null ? Date.parse(rollout.finishedAt) - options.startMs : null
  return {
    outcome,
    haltReasons: outcome === 'halted' ? (rollout.haltReasons as GateReason[]) : [],
    deviceCount: rows.length,
    skippedIncompatibleCount: rows.filter((row) => row.status === 'skipped-incompatible').length,
    waves: rollout.waves.map((wave) => ({
      index: wave.index,
      deviceCount: wave.deviceCount,
      cumulativeDeviceCount: wave.cumulativeDeviceCount,
      startedAtMs: waveTimes.get(wave.index)?.startedAtMs ?? null,
      finishedAtMs: waveTimes.get(wave.index)?.finishedAtMs ?? null,
    })),
    exposedCount: rows.filter((row) => row.attempt > 0).length,
    timeToCompleteMs: completedAt,
    simulatedMs: nowMs - options.startMs,
    timeline: thin(timeline),
  }
}

/** A simulated agent: accepts at once when online, finishes after its install time. True when it changed. */
function advanceDevice(device: SimulatedDevice, nowMs: number): boolean {
  const work = device.work
  if (!device.isOnline || work === null) return false
  let isChanged = false
  if (device.reportedSeq < work.seq) {
    device.reportedSeq = work.seq
    device.installState = 'downloading'
    device.errorCode = null
    isChanged = true
  }
  if (nowMs < work.doneAtMs) return isChanged
  device.work = null
  if (!work.isRollback && device.failsInstall) {
    device.installState = 'failed'
    device.errorCode = 'install-failed'
  } else if (!work.isRollback && device.failsHealth) {
    device.installState = 'rolled-back'
    device.errorCode = 'health-check-failed'
  } else {
    device.installState = 'committed'
    device.activeSha256 = work.sha256
  }
  return true
}

/** Keeps every event and enough plain points to draw the curve. */
function thin(points: TimelinePoint[]): TimelinePoint[] {
  if (points.length <= MAX_TIMELINE_POINTS) return points
  const every = Math.ceil(points.length / MAX_TIMELINE_POINTS)
  return points.filter((point, index) => point.event !== null || index % every === 0 || index === points.length - 1)
}
