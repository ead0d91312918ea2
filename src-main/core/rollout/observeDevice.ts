/**
 * What a device's reports mean for its rollout row. Pure: the stored row, the device as the control center sees it
 * now, and the time give the next row (the same object when nothing changed, so a tick can tell).
 */
import type { InstallState } from '../../../src-shared/domain/device.ts'
import type { RolloutDevice, RolloutTimeouts } from '../../../src-shared/domain/rollout.ts'

/** The device facts a rollout reads, from the device record and the directive store. */
export interface DeviceObservation {
  deviceId: string
  isOnline: boolean
  /** Highest directive seq the device said it accepted. */
  reportedDirectiveSeq: number
  /** The device's newest directive seq on the control center (ours or anyone's); null when none. */
  latestDirectiveSeq: number | null
  installState: InstallState
  installErrorCode: string | null
  activeSha256: string | null
  /** The newest telemetry window's p95, when it had requests. */
  latency: { p95Ms: number; windowEndAt: string } | null
}

/** Rows whose install directive is out and whose outcome may still change. */
const WATCHED_INSTALL: ReadonlySet<RolloutDevice['status']> = new Set(['sent', 'installing', 'silent', 'timed-out', 'committed'])
const WATCHED_ROLLBACK: ReadonlySet<RolloutDevice['status']> = new Set(['rollback-sent', 'silent'])

/** Instants past which a device counts as silent or timed out; ISO strings of one format compare as text. */
interface Deadlines {
  now: string
  /** Sent before this and never acknowledged: silent. */
  silentIfSentBefore: string
  /** Accepted before this and not finished: timed out. */
  timedOutIfAcceptedBefore: string
}

/** An observer for one tick: the deadlines are computed once, not per device (10,000 devices per tick). */
export function createDeviceObserver(now: string, timeouts: RolloutTimeouts) {
  const nowMs = Date.parse(now)
  const deadlines: Deadlines = {
    now,
    silentIfSentBefore: new Date(nowMs - timeouts.silenceTimeoutMs).toISOString(),
    timedOutIfAcceptedBefore: new Date(nowMs - timeouts.installTimeoutMs).toISOString(),
  }
  return (row: RolloutDevice, device: DeviceObservation | undefined): RolloutDevice => {
    if (device === undefined) return row
    if (row.rollbackSeq !== null) return WATCHED_ROLLBACK.has(row.status) ? observeRollback(row, row.rollbackSeq, device, deadlines) : row
    if (row.seq === null || !WATCHED_INSTALL.has(row.status)) return row
    return observeInstall(row, row.seq, device, deadlines)
  }
}

export function observeDevice(row: RolloutDevice, device: DeviceObservation | undefined, now: string, timeouts: RolloutTimeouts): RolloutDevice {
  return createDeviceObserver(now, timeouts)(row, device)
}

const isBefore = (at: string | null, deadline: string) => at !== null && at < deadline

function settle(row: RolloutDevice, patch: Partial<RolloutDevice>, now: string): RolloutDevice {
  return { ...row, ...patch, settledAt: now }
}

function observeInstall(row: RolloutDevice, seq: number, device: DeviceObservation, deadlines: Deadlines): RolloutDevice {
  const { now } = deadlines
  const targetSha256 = row.target?.sha256 ?? null
  if (row.status === 'committed') {
    // Committed is final for the install; only fresher latency is taken, from windows the new release served.
    const latency = device.latency
    if (latency && device.activeSha256 === targetSha256 && row.settledAt !== null && latency.windowEndAt > row.settledAt && latency.p95Ms !== row.p95Ms) {
      return { ...row, p95Ms: latency.p95Ms }
    }
    return row
  }
  // A newer directive that is not ours replaced this install (an operator deployed something else): never wedged.
  if (device.latestDirectiveSeq !== null && device.latestDirectiveSeq > seq) {
    return settle(row, { status: 'failed', errorCode: 'superseded', note: `directive ${device.latestDirectiveSeq} replaced this install` }, now)
  }
  if (device.reportedDirectiveSeq >= seq) {
    const accepted = row.acceptedAt === null ? { ...row, acceptedAt: now } : row
    if (device.activeSha256 === targetSha256 && (device.installState === 'committed' || device.installState === 'idle')) {
      return settle(accepted, { status: 'committed', errorCode: null }, now)
    }
    if (device.installState === 'rolled-back') {
      return settle(accepted, { status: 'rolled-back', isHealthFailure: true, errorCode: device.installErrorCode ?? 'rolled-back' }, now)
    }
    if (device.installState === 'failed') {
      return settle(accepted, { status: 'failed', errorCode: device.installErrorCode ?? 'install-failed' }, now)
    }
    if (row.status === 'timed-out') return accepted
    if (isBefore(accepted.acceptedAt, deadlines.timedOutIfAcceptedBefore)) {
      return settle(accepted, { status: 'timed-out', errorCode: 'timeout' }, now)
    }
    if (accepted.status !== 'installing') return { ...accepted, status: 'installing', settledAt: null }
    return accepted
  }
  if (row.status === 'silent') return row
  if (isBefore(row.sentAt, deadlines.silentIfSentBefore)) {
    return settle(row, { status: 'silent', note: 'no acknowledgement within the silence timeout' }, now)
  }
  return row
}

function observeRollback(row: RolloutDevice, seq: number, device: DeviceObservation, deadlines: Deadlines): RolloutDevice {
  const { now } = deadlines
  const previousSha256 = row.previous?.sha256 ?? null
  if (device.latestDirectiveSeq !== null && device.latestDirectiveSeq > seq) {
    return settle(row, { status: 'failed', errorCode: 'superseded', note: `directive ${device.latestDirectiveSeq} replaced the rollback` }, now)
  }
  if (device.reportedDirectiveSeq >= seq) {
    if (device.activeSha256 === previousSha256 && device.installState !== 'accepted' && device.installState !== 'downloading') {
      return settle(row, { status: 'rolled-back', note: 'returned to the previous release by a rollback directive' }, now)
    }
    if (device.installState === 'failed' || device.installState === 'rolled-back') {
      return settle(row, { status: 'failed', errorCode: device.installErrorCode ?? 'rollback-failed', note: 'the rollback directive failed' }, now)
    }
    if (row.status === 'silent') return { ...row, status: 'rollback-sent', settledAt: null }
    return row
  }
  if (row.status === 'silent') return row
  if (isBefore(row.rollbackSentAt, deadlines.silentIfSentBefore)) {
    return settle(row, { status: 'silent', note: 'no acknowledgement of the rollback within the silence timeout' }, now)
  }
  return row
}
