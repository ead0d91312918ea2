/**
 * Time buckets of the telemetry rollups and how long each resolution is kept. UTC throughout; instants are epoch
 * milliseconds here and ISO strings at the edges. Pure.
 */
import type { TimeResolution } from '../../../src-shared/domain/drift.ts'

export const RESOLUTION_MS: Readonly<Record<TimeResolution, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }

const HOUR_MS = RESOLUTION_MS.hour
const DAY_MS = RESOLUTION_MS.day

/**
 * How long each kind of telemetry is kept. Raw windows (drill-down, per-window detail) for `rawWindowDays`; the
 * release-level series at minute resolution for `minuteSeriesHours`, at hour resolution for `hourSeriesDays`, at
 * day resolution for good; per-device drift totals at minute checkpoints for `minuteCheckpointHours`, hourly for
 * `hourCheckpointDays`, daily after that.
 */
export interface TelemetryRetention {
  rawWindowDays: number
  minuteSeriesHours: number
  hourSeriesDays: number
  minuteCheckpointHours: number
  hourCheckpointDays: number
}

export const DEFAULT_TELEMETRY_RETENTION: TelemetryRetention = {
  rawWindowDays: 14,
  minuteSeriesHours: 48,
  hourSeriesDays: 90,
  minuteCheckpointHours: 6,
  hourCheckpointDays: 35,
}

export function floorToResolution(epochMs: number, resolution: TimeResolution): number {
  const size = RESOLUTION_MS[resolution]
  return Math.floor(epochMs / size) * size
}

export function isoAt(epochMs: number): string {
  return new Date(epochMs).toISOString()
}

/** Parses an ISO instant; NaN for anything else. */
export function epochMsOf(instant: string): number {
  return Date.parse(instant)
}

/**
 * The series resolution for a range: minute up to 6 h, hour up to 14 days, day beyond; never finer than what is
 * still kept at the range's start.
 */
export function chooseSeriesResolution(fromMs: number, toMs: number, nowMs: number, retention: TelemetryRetention = DEFAULT_TELEMETRY_RETENTION): TimeResolution {
  const spanMs = toMs - fromMs
  const ageMs = nowMs - fromMs
  if (spanMs <= 6 * HOUR_MS && ageMs <= retention.minuteSeriesHours * HOUR_MS) return 'minute'
  if (spanMs <= 14 * DAY_MS && ageMs <= retention.hourSeriesDays * DAY_MS) return 'hour'
  return 'day'
}

/**
 * The checkpoint resolution still kept at an instant's age: the drift totals thin out from minute to hour to day
 * checkpoints as they age, so a range start older than that is rounded down to the coarser checkpoint.
 */
export function checkpointResolutionAt(epochMs: number, nowMs: number, retention: TelemetryRetention = DEFAULT_TELEMETRY_RETENTION): TimeResolution {
  const ageMs = nowMs - epochMs
  if (ageMs <= retention.minuteCheckpointHours * HOUR_MS) return 'minute'
  if (ageMs <= retention.hourCheckpointDays * DAY_MS) return 'hour'
  return 'day'
}
