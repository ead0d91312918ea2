/** The shapes every benchmark module and the runner agree on. */
import { BugError } from '../src-shared/errors.ts'

export interface Baseline {
  value: number
  unit: string
  /** What was measured as the reference, in the same run and on the same machine. */
  title: string
}

export interface RatioTarget {
  /** '<=' for costs (time, memory), '>=' for rates. */
  comparison: '<=' | '>='
  ratio: number
}

/** A bound on the figure itself, for targets stated in absolute terms (e.g. 'RSS <= 120 MB'). */
export interface AbsoluteTarget {
  comparison: '<=' | '>='
  /** In the result's own unit. */
  value: number
}

export interface BenchResult {
  /** Stable kebab-case id, e.g. 'telemetry-ingest-rate'. */
  id: string
  title: string
  value: number
  unit: string
  baseline: Baseline
  /** value / baseline.value, both in the same unit. */
  ratio: number
  target?: RatioTarget
  absoluteTarget?: AbsoluteTarget
  /** Whether every target holds; the runner fills it from `target` and `absoluteTarget`. */
  met?: boolean
  notes?: string
}

export interface BenchOptions {
  /** Tiny counts: proves the benchmark still runs (CI), says nothing about speed. */
  quick: boolean
  /** Progress lines for a person watching; never parsed. */
  log: (message: string) => void
}

export interface Benchmark {
  name: string
  description: string
  run(options: BenchOptions): Promise<BenchResult[]>
}

/** The ratio of a figure to its baseline, checked so that a broken measurement cannot pass as a number. */
export function ratioOf(value: number, baseline: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) {
    throw new BugError(`Cannot form a ratio of ${value} to baseline ${baseline}`)
  }
  return value / baseline
}
