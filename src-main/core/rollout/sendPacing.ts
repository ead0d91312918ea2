/** How fast installs may go out: a per-minute cap, an optional exponential ramp, maintenance windows. Pure. */
import type { MaintenanceWindow, RatePolicy, RolloutDevice } from '../../../src-shared/domain/rollout.ts'

const MINUTE_MS = 60_000

/** Directives per minute now; null means no limit. The ramp multiplies by `factor` per `successesPerStep` commits. */
export function ratePerMinute(rate: RatePolicy, committedCount: number): number | null {
  let perMinute = rate.maxPerMinute
  if (rate.ramp) {
    const steps = Math.min(64, Math.floor(committedCount / rate.ramp.successesPerStep))
    const ramped = Math.floor(rate.ramp.basePerMinute * rate.ramp.factor ** steps)
    perMinute = perMinute === null ? ramped : Math.min(perMinute, ramped)
  }
  return perMinute === null ? null : Math.max(1, perMinute)
}

/**
 * How many install directives may be decided now: the per-minute rate minus the installs decided in the last
 * minute. Derived from persisted rows, so a restart cannot reset the budget.
 */
export function sendAllowance(rate: RatePolicy, rows: readonly RolloutDevice[], nowMs: number): number {
  let committedCount = 0
  let recentCount = 0
  // ISO instants of one format order as text: no Date parsing per row.
  const minuteAgo = new Date(nowMs - MINUTE_MS).toISOString()
  for (const row of rows) {
    if (row.status === 'committed' && row.wave !== null) committedCount += 1
    if (row.intentAt !== null && row.intentAt > minuteAgo) recentCount += 1
  }
  const perMinute = ratePerMinute(rate, committedCount)
  return perMinute === null ? Number.POSITIVE_INFINITY : Math.max(0, perMinute - recentCount)
}

/** True when installs may be sent now: inside any window (UTC), or always when there are none. */
export function isInMaintenanceWindow(windows: readonly MaintenanceWindow[], nowMs: number): boolean {
  if (windows.length === 0) return true
  const date = new Date(nowMs)
  const minute = date.getUTCHours() * 60 + date.getUTCMinutes()
  const day = date.getUTCDay()
  const previousDay = (day + 6) % 7
  return windows.some((window) => {
    const isDay = (candidate: number) => window.daysUtc.length === 0 || window.daysUtc.includes(candidate)
    if (window.startMinuteUtc < window.endMinuteUtc) return isDay(day) && minute >= window.startMinuteUtc && minute < window.endMinuteUtc
    // Wraps past midnight: the evening belongs to today's window, the early morning to yesterday's.
    return (isDay(day) && minute >= window.startMinuteUtc) || (isDay(previousDay) && minute < window.endMinuteUtc)
  })
}
