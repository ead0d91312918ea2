/** Accumulates one telemetry window of inference outcomes into the shared latency histogram. No I/O, no clock. */
import { emptyLatencyCounts, latencyBucketIndex } from '../../../src-shared/protocol/latencyHistogram.ts'

export interface TelemetryAccumulator {
  windowStartAt: string
  requestCount: number
  errorCount: number
  /** Counts per LATENCY_BUCKET_UPPER_MS bucket plus the overflow bucket. */
  latencyCounts: readonly number[]
}

export function startWindow(windowStartAt: string): OwnedTelemetryAccumulator {
  return { windowStartAt, requestCount: 0, errorCount: 0, latencyCounts: emptyLatencyCounts() }
}

/** A successful inference adds its latency; a failed one counts as a request and an error, without a latency. */
export function recordInference(window: TelemetryAccumulator, outcome: { latencyMs: number } | { error: true }): OwnedTelemetryAccumulator {
  const next = { ...window, latencyCounts: window.latencyCounts.slice() }
  countInference(next, outcome)
  return next
}

/** An accumulator the runtime owns alone, so it may count in place. */
export interface OwnedTelemetryAccumulator extends TelemetryAccumulator {
  latencyCounts: number[]
}

/**
 * recordInference in place: the inference path counts every call, and copying the histogram there cost as much as
 * a tenth of a small model's inference. Callers must own `window` (see closeWindow, which copies it out).
 */
export function countInference(window: OwnedTelemetryAccumulator, outcome: { latencyMs: number } | { error: true }): void {
  window.requestCount += 1
  if ('error' in outcome) {
    window.errorCount += 1
    return
  }
  const index = latencyBucketIndex(Math.max(0, outcome.latencyMs))
  window.latencyCounts[index] = (window.latencyCounts[index] ?? 0) + 1
}

export interface ClosedWindow {
  windowStartAt: string
  windowEndAt: string
  requestCount: number
  errorCount: number
  latencyCounts: number[]
}

/** Ends the window at `windowEndAt` and returns it with the next window, which starts where this one ended. */
export function closeWindow(window: TelemetryAccumulator, windowEndAt: string): { closed: ClosedWindow; next: OwnedTelemetryAccumulator } {
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
