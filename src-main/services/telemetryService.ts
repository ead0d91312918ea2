/**
 * Keeps the telemetry store moving: rolls committed windows up shortly after each ingest batch (and on a timer as
 * a backstop), applies retention hourly, pushes raised alerts and throttled "new telemetry" notices to the UIs,
 * and counts everything for /metrics (collectMetrics).
 */
import type { Alert, AlertKind } from '../../src-shared/domain/drift.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import type { Clock } from '../ports/Clock.ts'
import type { MetricFamily, MetricsSource } from '../ports/MetricsSource.ts'
import type { RetentionResult, TelemetryIngestCounters, TelemetryQueries, TelemetryRollupJob } from '../ports/TelemetryStore.ts'

/** A throttled notice that rollups took in new windows (dashboards refresh on it). */
export interface TelemetryIngested {
  windowCount: number
  latestWindowEndAt: string | null
  at: string
}

export interface TelemetryNotifier {
  alertRaised(alert: Alert): void
  telemetryIngested(notice: TelemetryIngested): void
}

export interface TelemetryServiceOptions {
  rollups: TelemetryRollupJob
  queries: TelemetryQueries
  ingest: { stats(): TelemetryIngestCounters; flush(): Promise<void> }
  clock: Clock
  notifier: TelemetryNotifier
  log: Logger
  /** Backstop interval of rollup passes; passes also follow each committed ingest batch. */
  passIntervalMs?: number
  retentionIntervalMs?: number
  /** At most one telemetryIngested notice per this interval. */
  noticeIntervalMs?: number
}

const DEFAULT_PASS_INTERVAL_MS = 1000
const DEFAULT_RETENTION_INTERVAL_MS = 60 * 60 * 1000
const DEFAULT_NOTICE_INTERVAL_MS = 2000
/** A burst of batches is rolled up together rather than one pass per batch. */
const PASS_DEBOUNCE_MS = 50
/** Passes catching up a backlog yield to the event loop between transactions of this many windows. */
const WINDOWS_PER_PASS = 5000

export function createTelemetryService(options: TelemetryServiceOptions) {
  const { rollups, queries, ingest, clock, notifier, log } = options
  const counters = {
    rolledUpWindows: 0,
    unmatchedDriftWindows: 0,
    failedPasses: 0,
    clearedAlerts: 0,
    raisedAlerts: new Map<AlertKind, number>([
      ['drift', 0],
      ['latency', 0],
    ]),
    rawWindowsDeleted: 0,
  }
  let passTimer: ReturnType<typeof setTimeout> | undefined
  let backstopTimer: ReturnType<typeof setInterval> | undefined
  let retentionTimer: ReturnType<typeof setInterval> | undefined
  let noticeTimer: ReturnType<typeof setTimeout> | undefined
  let tail: Promise<void> = Promise.resolve()
  let queued: Promise<void> | undefined
  let isStopped = false
  let pendingNotice = { windowCount: 0, latestWindowEndAt: null as string | null }
  let lastNoticeMs = Number.NEGATIVE_INFINITY
  const noticeIntervalMs = options.noticeIntervalMs ?? DEFAULT_NOTICE_INTERVAL_MS

  function sendNotice(): void {
    noticeTimer = undefined
    if (pendingNotice.windowCount === 0) return
    lastNoticeMs = clock.nowMs()
    notifier.telemetryIngested({ ...pendingNotice, at: new Date(lastNoticeMs).toISOString() })
    pendingNotice = { windowCount: 0, latestWindowEndAt: null }
  }

  function queueNotice(windowCount: number, latestWindowEndAt: string | null): void {
    pendingNotice.windowCount += windowCount
    if (latestWindowEndAt !== null && (pendingNotice.latestWindowEndAt === null || latestWindowEndAt > pendingNotice.latestWindowEndAt)) {
      pendingNotice.latestWindowEndAt = latestWindowEndAt
    }
    if (noticeTimer !== undefined) return
    const waitMs = Math.max(0, lastNoticeMs + noticeIntervalMs - clock.nowMs())
    if (waitMs === 0) sendNotice()
    else noticeTimer = setTimeout(sendNotice, waitMs)
  }

  async function passUntilCaughtUp(): Promise<void> {
    for (;;) {
      const result = await rollups.runPass(WINDOWS_PER_PASS)
      counters.rolledUpWindows += result.windowCount
      counters.unmatchedDriftWindows += result.unmatchedDriftWindows
      counters.clearedAlerts += result.clearedAlertIds.length
      for (const alert of result.raised) {
        counters.raisedAlerts.set(alert.kind, (counters.raisedAlerts.get(alert.kind) ?? 0) + 1)
        log.warn('Telemetry alert raised', { alertId: alert.alertId, kind: alert.kind, deviceId: alert.deviceId, detail: alert.detail })
        notifier.alertRaised(alert)
      }
      if (result.windowCount > 0) queueNotice(result.windowCount, result.latestWindowEndAt)
      if (!result.hasMore || isStopped) return
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }

  /**
   * Runs passes until nothing waits. At most one run waits behind the one in progress, and every caller gets a run
   * that starts after its call, so whatever was committed before the call is rolled up when the promise resolves.
   */
  function rollUp(): Promise<void> {
    if (queued) return queued
    const next = tail
      .then(() => {
        queued = undefined
        return passUntilCaughtUp()
      })
      .catch((error: unknown) => {
        counters.failedPasses += 1
        log.error('Rolling telemetry up failed', error)
      })
    queued = next
    tail = next
    return next
  }

  async function applyRetention(): Promise<RetentionResult | undefined> {
    try {
      await rollUp()
      const result = await rollups.applyRetention(clock.nowMs())
      counters.rawWindowsDeleted += result.rawWindowsDeleted
      return result
    } catch (error) {
      log.error('Applying telemetry retention failed', error)
      return undefined
    }
  }

  return {
    start(): void {
      isStopped = false
      backstopTimer ??= setInterval(() => void rollUp(), options.passIntervalMs ?? DEFAULT_PASS_INTERVAL_MS)
      backstopTimer.unref()
      retentionTimer ??= setInterval(() => void applyRetention(), options.retentionIntervalMs ?? DEFAULT_RETENTION_INTERVAL_MS)
      retentionTimer.unref()
      void applyRetention()
    },
    /** Called after each committed ingest batch: a pass follows shortly. */
    requestPass(): void {
      if (isStopped || passTimer !== undefined) return
      passTimer = setTimeout(() => {
        passTimer = undefined
        void rollUp()
      }, PASS_DEBOUNCE_MS)
    },
    /** Commits queued windows and rolls everything up (also what tests and close() use). */
    async catchUp(): Promise<void> {
      await ingest.flush()
      await rollUp()
    },
    applyRetention,
    /** Stops the timers after a last flush and pass. */
    async stop(): Promise<void> {
      clearTimeout(passTimer)
      passTimer = undefined
      clearInterval(backstopTimer)
      backstopTimer = undefined
      clearInterval(retentionTimer)
      retentionTimer = undefined
      await ingest.flush()
      await rollUp()
      isStopped = true
      clearTimeout(noticeTimer)
      noticeTimer = undefined
    },
    async collectMetrics(): Promise<MetricFamily[]> {
      const stats = ingest.stats()
      const counter = (name: string, help: string, value: number): MetricFamily => ({ name, help, type: 'counter', samples: [{ labels: {}, value }] })
      const families: MetricFamily[] = [
        counter('outpost_telemetry_windows_stored_total', 'Telemetry windows stored (new, after de-duplication).', stats.storedWindows),
        counter('outpost_telemetry_windows_duplicate_total', 'Telemetry windows dropped as redeliveries of a stored one.', stats.duplicateWindows),
        counter('outpost_telemetry_ingest_batches_total', 'Ingest transactions committed.', stats.committedBatches),
        counter('outpost_telemetry_ingest_batches_failed_total', 'Ingest transactions that failed (their windows were refused).', stats.failedBatches),
        { name: 'outpost_telemetry_windows_pending', help: 'Windows queued for the next ingest transaction.', type: 'gauge', samples: [{ labels: {}, value: stats.pendingWindows }] },
        counter('outpost_telemetry_windows_rolled_up_total', 'Windows consumed by the rollups.', counters.rolledUpWindows),
        counter('outpost_telemetry_drift_windows_unmatched_total', 'Windows whose drift counts did not match the registered reference bins.', counters.unmatchedDriftWindows),
        counter('outpost_telemetry_rollup_passes_failed_total', 'Rollup passes that failed.', counters.failedPasses),
        counter('outpost_telemetry_raw_windows_deleted_total', 'Raw windows deleted by retention.', counters.rawWindowsDeleted),
        {
          name: 'outpost_alerts_raised_total',
          help: 'Alerts raised for a drift or latency threshold crossed in consecutive windows.',
          type: 'counter',
          samples: [...counters.raisedAlerts].map(([kind, value]) => ({ labels: { kind }, value })),
        },
        counter('outpost_alerts_cleared_total', 'Alerts cleared by a later window back under the threshold.', counters.clearedAlerts),
      ]
      try {
        const active = await queries.alerts({ activeOnly: true, limit: 1_000_000 })
        families.push({
          name: 'outpost_alerts_active',
          help: 'Alerts raised and not cleared yet.',
          type: 'gauge',
          samples: (['drift', 'latency'] as const).map((kind) => ({ labels: { kind }, value: active.filter((alert) => alert.kind === kind).length })),
        })
      } catch (error) {
        log.error('Counting active alerts for /metrics failed', error)
      }
      return families
    },
  }
}

export type TelemetryService = ReturnType<typeof createTelemetryService> & MetricsSource
