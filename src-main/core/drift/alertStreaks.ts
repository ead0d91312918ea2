/**
 * Sustained-threshold alerts per device (issue 7 §4). A device's consecutive windows are merged into evaluation
 * windows until they hold enough evidence (minSamples drift samples, latencyMinRequests requests), so a short
 * telemetry interval never yields a verdict from noise. `sustainedWindows` consecutive bad evaluation windows raise
 * one alert; the next good one clears it. Windows older than the newest one already evaluated (late or
 * out-of-order arrivals) are stored and rolled up but never extend or break a streak. Pure.
 */
import type { DriftSettings } from '../../../src-shared/domain/drift.ts'
import { latencyQuantileMs } from '../../../src-shared/protocol/latencyHistogram.ts'
import type { DriftLayout } from './driftLayout.ts'
import { evaluateRow } from './evaluateDrift.ts'

export interface StreakState {
  modelSha256: string | null
  /** Highest reportSeq evaluated so far; -1 before the first. */
  lastReportSeq: number
  /** Evidence gathered since the last evaluation window closed. */
  pendingCounts: number[]
  pendingFirstWindowStartAt: string | null
  streak: number
  streakFirstWindowStartAt: string | null
  isActive: boolean
}

export function newStreakState(): StreakState {
  return { modelSha256: null, lastReportSeq: -1, pendingCounts: [], pendingFirstWindowStartAt: null, streak: 0, streakFirstWindowStartAt: null, isActive: false }
}

export interface StreakWindow {
  reportSeq: number
  windowStartAt: string
  windowEndAt: string
  modelSha256: string | null
}

export type StreakOutcome =
  | { kind: 'none' }
  | { kind: 'raise'; value: number; consecutiveWindows: number; firstWindowStartAt: string; lastWindowEndAt: string }
  | { kind: 'clear' }

interface Judgement {
  /** Undefined while the evidence is still short of a verdict. */
  isBad: boolean | undefined
  value: number
}

function advance(state: StreakState, window: StreakWindow, counts: readonly number[], sustainedWindows: number, judge: (counts: readonly number[]) => Judgement): { state: StreakState; outcome: StreakOutcome } {
  if (window.reportSeq <= state.lastReportSeq) return { state, outcome: { kind: 'none' } }
  // A new model starts over: its evidence is not comparable with the old one's.
  const base = window.modelSha256 === state.modelSha256 ? state : { ...newStreakState(), isActive: state.isActive, modelSha256: window.modelSha256 }
  const pendingCounts = base.pendingCounts.length === counts.length ? base.pendingCounts.map((count, i) => count + (counts[i] as number)) : [...counts]
  const pendingFirstWindowStartAt = base.pendingFirstWindowStartAt ?? window.windowStartAt
  const next: StreakState = { ...base, lastReportSeq: window.reportSeq, pendingCounts, pendingFirstWindowStartAt }
  const { isBad, value } = judge(pendingCounts)
  if (isBad === undefined) return { state: next, outcome: { kind: 'none' } }
  const closed: StreakState = { ...next, pendingCounts: [], pendingFirstWindowStartAt: null }
  if (!isBad) {
    return { state: { ...closed, streak: 0, streakFirstWindowStartAt: null, isActive: false }, outcome: next.isActive ? { kind: 'clear' } : { kind: 'none' } }
  }
  const streak = base.streak + 1
  const streakFirstWindowStartAt = base.streakFirstWindowStartAt ?? pendingFirstWindowStartAt
  const raised = streak >= sustainedWindows && !base.isActive
  const after: StreakState = { ...closed, streak, streakFirstWindowStartAt, isActive: base.isActive || raised }
  if (!raised) return { state: after, outcome: { kind: 'none' } }
  return {
    state: after,
    outcome: { kind: 'raise', value, consecutiveWindows: streak, firstWindowStartAt: streakFirstWindowStartAt, lastWindowEndAt: window.windowEndAt },
  }
}

function sumRange(counts: readonly number[], offset: number, length: number): number {
  let sum = 0
  for (let i = 0; i < length; i++) sum += counts[offset + i] as number
  return sum
}

/** Feeds one window's flat drift counts (driftLayout.ts) into the device's drift streak. */
export function advanceDriftStreak(state: StreakState, window: StreakWindow, packedCounts: ArrayLike<number>, layout: DriftLayout, settings: DriftSettings): { state: StreakState; outcome: StreakOutcome } {
  const firstFeature = layout.features[0]
  return advance(state, window, Array.from(packedCounts), settings.sustainedWindows, (counts) => {
    // Every sample counts once per feature, so the first feature's total says whether a verdict is possible yet.
    if (firstFeature && sumRange(counts, firstFeature.offset, firstFeature.binCount) < settings.minSamples) return { isBad: undefined, value: 0 }
    const row = evaluateRow(layout, '', 1, counts, settings)
    if (row.verdict === 'insufficient' || row.driftShare === null) return { isBad: undefined, value: 0 }
    return { isBad: row.verdict === 'drift', value: row.driftShare }
  })
}

/** Feeds one window's latency histogram into the device's latency streak (judged on p95). */
export function advanceLatencyStreak(state: StreakState, window: StreakWindow, latencyCounts: readonly number[], settings: DriftSettings): { state: StreakState; outcome: StreakOutcome } {
  return advance(state, window, latencyCounts, settings.sustainedWindows, (counts) => {
    const requests = counts.reduce((sum, count) => sum + count, 0)
    if (requests < settings.latencyMinRequests) return { isBad: undefined, value: 0 }
    const p95Ms = latencyQuantileMs(counts, 0.95)
    return { isBad: p95Ms > settings.latencyP95ThresholdMs, value: p95Ms }
  })
}
