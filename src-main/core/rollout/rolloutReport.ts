/**
 * The per-device account of a rollout and its exports. Every device is in exactly one outcome: committed,
 * failed (with its code), rolled-back, skipped-incompatible, unreachable, not-sent (its wave never started), or
 * in-progress while the rollout or a rollback is still under way. Pure.
 */
import {
  deviceOutcomes,
  rolloutDeviceStatuses,
  type DeviceOutcome,
  type OutcomeCounts,
  type RolloutDetail,
  type RolloutDevice,
  type RolloutDeviceStatus,
  type RolloutRecord,
  type RolloutSummary,
} from '../../../src-shared/domain/rollout.ts'
import { TERMINAL_STATUSES } from './rolloutMachine.ts'

export function deviceOutcome(row: RolloutDevice, rollout: Pick<RolloutRecord, 'status'>): DeviceOutcome {
  switch (row.status) {
    case 'skipped-incompatible':
      return 'skipped-incompatible'
    case 'committed':
      return 'committed'
    case 'failed':
    case 'timed-out':
      return 'failed'
    case 'rolled-back':
      return 'rolled-back'
    case 'silent':
      return 'unreachable'
    case 'planned':
      return TERMINAL_STATUSES.has(rollout.status) ? 'not-sent' : 'in-progress'
    case 'sending':
    case 'sent':
    case 'installing':
    case 'rollback-sending':
    case 'rollback-sent':
      return 'in-progress'
    default:
      return unknownStatus(row.status)
  }
}

function unknownStatus(status: never): never {
  throw new TypeError(`Unknown rollout device status ${String(status)}`)
}

export function countOutcomes(rows: readonly RolloutDevice[], rollout: Pick<RolloutRecord, 'status'>): OutcomeCounts {
  const counts = Object.fromEntries(deviceOutcomes.map((outcome) => [outcome, 0])) as Record<DeviceOutcome, number>
  for (const row of rows) counts[deviceOutcome(row, rollout)] += 1
  return counts
}

export function countStatuses(rows: readonly RolloutDevice[]): Record<RolloutDeviceStatus, number> {
  const counts = Object.fromEntries(rolloutDeviceStatuses.map((status) => [status, 0])) as Record<RolloutDeviceStatus, number>
  for (const row of rows) counts[row.status] += 1
  return counts
}

export function toRolloutSummary(rollout: RolloutRecord, rows: readonly RolloutDevice[]): RolloutSummary {
  return { ...rollout, deviceCount: rows.length, outcomes: countOutcomes(rows, rollout), statusCounts: countStatuses(rows) }
}

export function toRolloutDetail(rollout: RolloutRecord, rows: readonly RolloutDevice[]): RolloutDetail {
  return { ...toRolloutSummary(rollout, rows), devices: [...rows] }
}

export const REPORT_CSV_COLUMNS = [
  'device_id',
  'outcome',
  'error_code',
  'status',
  'wave',
  'variant',
  'target_model_id',
  'previous_model_id',
  'attempts',
  'directive_seq',
  'rollback_seq',
  'sent_at',
  'settled_at',
  'baseline_p95_ms',
  'p95_ms',
  'note',
] as const

/** RFC 4180 quoting, and a leading quote for cells a spreadsheet would run as a formula. */
function csvCell(value: string | number | null): string {
  if (value === null) return ''
  let text = String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function rolloutReportCsv(rollout: RolloutRecord, rows: readonly RolloutDevice[]): string {
  const lines = [REPORT_CSV_COLUMNS.join(',')]
  for (const row of rows) {
    const outcome = deviceOutcome(row, rollout)
    lines.push(
      [
        row.deviceId,
        outcome,
        outcome === 'failed' ? (row.errorCode ?? 'install-failed') : row.status === 'rolled-back' ? row.errorCode : null,
        row.status,
        row.wave === null ? null : row.wave + 1,
        row.variant,
        row.target?.modelId ?? null,
        row.previous?.modelId ?? null,
        row.attempt,
        row.seq,
        row.rollbackSeq,
        row.sentAt,
        row.settledAt,
        row.baselineP95Ms,
        row.p95Ms,
        row.note,
      ]
        .map(csvCell)
        .join(','),
    )
  }
  return `${lines.join('\r\n')}\r\n`
}

export interface RolloutReport {
  rollout: RolloutSummary
  generatedAt: string
  devices: Array<{
    deviceId: string
    outcome: DeviceOutcome
    errorCode: string | null
    status: RolloutDeviceStatus
    wave: number | null
    variant: string | null
    attempts: number
    seq: number | null
    rollbackSeq: number | null
    note: string | null
  }>
}

export function rolloutReportJson(rollout: RolloutRecord, rows: readonly RolloutDevice[], generatedAt: string): RolloutReport {
  return {
    rollout: toRolloutSummary(rollout, rows),
    generatedAt,
    devices: rows.map((row) => {
      const outcome = deviceOutcome(row, rollout)
      return {
        deviceId: row.deviceId,
        outcome,
        errorCode: outcome === 'failed' ? (row.errorCode ?? 'install-failed') : row.status === 'rolled-back' ? row.errorCode : null,
        status: row.status,
        wave: row.wave === null ? null : row.wave + 1,
        variant: row.variant,
        attempts: row.attempt,
        seq: row.seq,
        rollbackSeq: row.rollbackSeq,
        note: row.note,
      }
    }),
  }
}
