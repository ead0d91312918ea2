/** Accumulates one telemetry window of inference outcomes into the shared latency histogram. Pure. */
import { emptyLatencyCounts, latencyBucketIndex } from '../../../src-shared/protocol/latencyHistogram.ts'

export interface TelemetryAccumulator {
  windowStartAt: string
  requestCount: number
  errorCount: number
  /** Counts per LATENCY_BUCKET_UPPER_MS bucket plus the overflow bucket. */
  latencyCounts: readonly number[]
}

export function startWindow(windowStartAt: string): TelemetryAccumulator {
  return { windowStartAt, requestCount: 0, errorCount: 0, latencyCounts: emptyLatencyCounts() }
}

/** A successful inference adds its latency; a failed one counts as a request and an error, without a latency. */
export function recordInference(window: TelemetryAccumulator, outcome: { latencyMs: number } | { error: true }): TelemetryAccumulator {
  if ('error' in outcome) return { ...window, requestCount: window.requestCount + 1, errorCount: window.errorCount + 1 }
  const index = latencyBucketIndex(Math.max(0, outcome.latencyMs))
  const latencyCounts = window.latencyCounts.slice()
  latencyCounts[index] = (latencyCounts[index] ?? 0) + 1
  return { ...window, requestCount: window.requestCount + 1, latencyCounts }
}

export interface ClosedWindow {
  windowStartAt: string
  windowEndAt: string
  requestCount: number
  errorCount: number
  latencyCounts: number[]
}

/** Ends the window at `windowEndAt` and returns it with the next window, which starts where this one ended. */
export function closeWindow(window: TelemetryAccumulator, windowEndAt: string): { closed: ClosedWindow; next: TelemetryAccumulator } {
  return {
    closed: {
      windowStartAt: window.windowStartAt,
      windowEndAt,
      requestCount: window.requestCount,
      errorCount: window.errorCount,
      latencyCounts: window.latencyCounts.slice(),
    },
    next: startWindow(windowEndAt),
  }
}
