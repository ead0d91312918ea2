/**
 * Deterministic drift test data shared by the telemetry store tests and bench/benchmarks/driftHeatmap.ts: a
 * reference with N features, and windows whose features are counted from seeded normal samples, optionally shifted.
 */
import type { DriftReference } from '../../../../src-shared/domain/drift.ts'
import { countIntoBins, driftReferenceSha256 } from '../../../../src-shared/domain/driftBinning.ts'
import { emptyLatencyCounts, latencyBucketIndex } from '../../../../src-shared/protocol/latencyHistogram.ts'
import type { TelemetryWindow } from '../../../../src-shared/protocol/messages.ts'
import { nodeSha256 } from '../sqliteTelemetryStore.ts'

export const MODEL_SHA256 = 'ab'.repeat(32)

/** A small seeded generator (mulberry32) so every run draws the same samples. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Standard normal draws (Box-Muller, both values of each pair used). */
export function normalSampler(random: () => number): () => number {
  let spare: number | undefined
  return () => {
    if (spare !== undefined) {
      const value = spare
      spare = undefined
      return value
    }
    const radius = Math.sqrt(-2 * Math.log(Math.max(random(), Number.MIN_VALUE)))
    const angle = 2 * Math.PI * random()
    spare = radius * Math.sin(angle)
    return radius * Math.cos(angle)
  }
}

export const featureName = (index: number) => `f${String(index).padStart(2, '0')}`

/** Features f00.. with `binCount` bins over a standard normal (edges evenly from -2 to 2), predictions in 4 classes. */
export function makeReference(featureCount: number, binCount = 12, referenceSamples = 5000, seed = 7): DriftReference {
  const normal = normalSampler(seededRandom(seed))
  const edges = Array.from({ length: binCount - 1 }, (_, i) => Number((-2 + (4 * i) / (binCount - 2)).toFixed(6)))
  const features = Array.from({ length: featureCount }, (_, index) => {
    const values = Array.from({ length: referenceSamples }, normal)
    return { name: featureName(index), bin_edges: edges, reference_counts: countIntoBins(edges, values), source: { kind: 'element' as const, input: 'features', index } }
  })
  const classRandom = seededRandom(seed + 1)
  const classes = Array.from({ length: referenceSamples }, () => Math.floor(classRandom() * 4))
  return {
    features,
    predictions: { name: 'class', bin_edges: [0.5, 1.5, 2.5], reference_counts: countIntoBins([0.5, 1.5, 2.5], classes), source: { kind: 'argmax', output: 'probabilities' } },
  }
}

export function binsSha256Of(reference: DriftReference): string {
  return driftReferenceSha256(reference, nodeSha256)
}

export interface WindowSpec {
  deviceId: string
  reportSeq: number
  startMs: number
  windowMs?: number
  samples?: number
  /** Mean shift per feature name (standard deviations). */
  shifts?: Readonly<Record<string, number>>
  latencyMs?: number
  modelSha256?: string | null
  binsSha256?: string
}

/** A telemetry window counting `samples` draws per feature into `reference`'s bins. */
export function makeWindow(reference: DriftReference, spec: WindowSpec, random: () => number): TelemetryWindow {
  const normal = normalSampler(random)
  const samples = spec.samples ?? 100
  const featureCounts: Record<string, number[]> = {}
  for (const feature of reference.features) {
    const shift = spec.shifts?.[feature.name] ?? 0
    featureCounts[feature.name] = countIntoBins(feature.bin_edges, Array.from({ length: samples }, () => normal() + shift))
  }
  const latencyCounts = emptyLatencyCounts()
  const latencyIndex = latencyBucketIndex(spec.latencyMs ?? 2)
  latencyCounts[latencyIndex] = samples
  const windowMs = spec.windowMs ?? 10_000
  return {
    v: 1,
    deviceId: spec.deviceId,
    reportSeq: spec.reportSeq,
    windowStartAt: new Date(spec.startMs).toISOString(),
    windowEndAt: new Date(spec.startMs + windowMs).toISOString(),
    modelSha256: spec.modelSha256 === undefined ? MODEL_SHA256 : spec.modelSha256,
    executionProvider: 'cpu',
    requestCount: samples,
    errorCount: 0,
    latencyCounts,
    rssBytes: 50_000_000,
    featureCounts,
    predictionCounts: countIntoBins([0.5, 1.5, 2.5], Array.from({ length: samples }, () => Math.floor(random() * 4))),
    binsSha256: spec.binsSha256 ?? binsSha256Of(reference),
  }
}
