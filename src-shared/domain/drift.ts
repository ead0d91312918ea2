/**
 * Drift: the signed reference bins a release carries, the settings that turn distances into verdicts, and the
 * shapes the dashboards and `outpost drift report` read. Reference field names are snake_case because the reference
 * is part of the signed release manifest (src-shared/trust/metadata.ts `drift`); everything else is camelCase.
 *
 * Bin convention (shared with countIntoBins in driftBinning.ts): n strictly increasing finite inner edges make n+1
 * bins; bin 0 holds v < edges[0], bin i holds edges[i-1] <= v < edges[i], the last bin holds v >= edges[n-1].
 */
import { z } from 'zod'
import { DeviceId, Instant, Sha256Hex } from './ids.ts'

const Count = z.int().nonnegative()

/**
 * Where a feature's value comes from, per sample (the batch dimension removed):
 * - 'element': element `index` of input `input`, row-major over the sample's elements;
 * - 'channel-mean': the mean of every element of input `input` whose coordinate on `axis` is `channel` (an image
 *   channel: NCHW gives axis 0 of the sample's [C, H, W]);
 * - 'column': input `column`, one value per sample (its first element), for models fed one tensor per column;
 * - 'argmax': the index of the largest element of output `output` (class predictions; bin edges k + 0.5);
 * - 'score': element `index` of output `output` (a probability or regression score).
 */
export const DriftFeatureSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('element'), input: z.string().min(1).max(128), index: z.int().nonnegative() }),
  z.object({
    kind: z.literal('channel-mean'),
    input: z.string().min(1).max(128),
    axis: z.int().min(0).max(7),
    channel: z.int().nonnegative(),
  }),
  z.object({ kind: z.literal('column'), column: z.string().min(1).max(128) }),
  z.object({ kind: z.literal('argmax'), output: z.string().min(1).max(128) }),
  z.object({ kind: z.literal('score'), output: z.string().min(1).max(128), index: z.int().nonnegative() }),
])
export type DriftFeatureSource = z.infer<typeof DriftFeatureSource>

/** The manifest's DriftFeature (name, bin_edges, reference_counts) plus where the device reads the value. */
export const DriftBinnedFeature = z
  .object({
    name: z.string().min(1).max(64),
    bin_edges: z.array(z.number()).min(1).max(256),
    reference_counts: z.array(Count).max(257),
    source: DriftFeatureSource.optional(),
  })
  .refine((feature) => feature.bin_edges.every((edge, index) => index === 0 || edge > (feature.bin_edges[index - 1] ?? edge)), {
    message: 'bin_edges must increase strictly',
  })
  .refine((feature) => feature.reference_counts.length === feature.bin_edges.length + 1, {
    message: 'reference_counts has one count per bin (bin_edges.length + 1)',
  })
export type DriftBinnedFeature = z.infer<typeof DriftBinnedFeature>

/**
 * A release's drift reference: the manifest's `drift` object. `features` matches the manifest schema exactly;
 * `predictions` and each feature's `source` are additions a manifest may carry (unknown fields are signed too).
 */
export const DriftReference = z
  .object({
    features: z.array(DriftBinnedFeature).min(1).max(1024),
    predictions: DriftBinnedFeature.optional(),
  })
  .refine((reference) => new Set(reference.features.map((feature) => feature.name)).size === reference.features.length, {
    message: 'feature names must be unique',
  })
export type DriftReference = z.infer<typeof DriftReference>

/** Distances on binned distributions; see src-main/core/drift/metrics.ts for the exact formulas. */
export const DriftMetric = z.enum(['psi', 'jensenShannon', 'wasserstein'])
export type DriftMetric = z.infer<typeof DriftMetric>

/** Verdict of one feature, device or cohort: 'insufficient' when fewer than minSamples were counted. */
export const DriftVerdict = z.enum(['drift', 'stable', 'insufficient'])
export type DriftVerdict = z.infer<typeof DriftVerdict>

/** How distances become verdicts and when an alert is raised (anchors-mission.md §6). */
export const DriftSettings = z.object({
  metric: DriftMetric,
  /** A feature drifts when its distance is at least this. */
  threshold: z.number().positive().max(100),
  /** No verdict below this many live samples (per feature, per device or cohort, over the range). */
  minSamples: z.int().min(1).max(1_000_000_000),
  /** A device or cohort drifts when at least this share of its evaluated features drifts. */
  deviceDriftShare: z.number().gt(0).max(1),
  /** An alert needs this many consecutive drifting (or slow) evaluation windows of one device. */
  sustainedWindows: z.int().min(1).max(1000),
  latencyP95ThresholdMs: z.number().positive().max(10_000_000),
  /** Latency is judged once a device's consecutive windows hold at least this many requests. */
  latencyMinRequests: z.int().min(1).max(1_000_000_000),
})
export type DriftSettings = z.infer<typeof DriftSettings>

export const DEFAULT_DRIFT_SETTINGS: DriftSettings = {
  metric: 'psi',
  threshold: 0.1,
  minSamples: 200,
  deviceDriftShare: 0.5,
  sustainedWindows: 3,
  latencyP95ThresholdMs: 250,
  latencyMinRequests: 20,
}

/** Device tags for cohorts (site, customer, ...): 1-64 of letters, digits and . _ : = - */
export const DeviceTag = z.string().regex(/^[A-Za-z0-9._:=-]{1,64}$/, 'a tag is 1-64 letters, digits or . _ : = -')
export const DeviceTags = z.array(DeviceTag).max(32)

/** What the heatmap rows are: single devices, or cohorts of devices sharing an attribute. */
export const DriftGrouping = z.enum(['device', 'arch', 'executionProvider', 'tag', 'modelVersion'])
export type DriftGrouping = z.infer<typeof DriftGrouping>

export const DriftCell = z.object({
  feature: z.string(),
  /** Null when nothing was counted. */
  score: z.number().nonnegative().nullable(),
  sampleCount: Count,
  verdict: DriftVerdict,
})
export type DriftCell = z.infer<typeof DriftCell>

export const DriftRow = z.object({
  /** The device id, or the cohort value ('unknown' when the attribute is missing). */
  key: z.string(),
  deviceCount: Count,
  /** Cells in the order of DriftHeatmap.features. */
  cells: z.array(DriftCell),
  prediction: DriftCell.nullable(),
  /** Drifting evaluated features over evaluated features; null when none could be evaluated. */
  driftShare: z.number().min(0).max(1).nullable(),
  verdict: DriftVerdict,
})
export type DriftRow = z.infer<typeof DriftRow>

export const DriftHeatmap = z.object({
  modelSha256: Sha256Hex,
  binsSha256: Sha256Hex,
  releaseLabel: z.string(),
  by: DriftGrouping,
  metric: DriftMetric,
  threshold: z.number(),
  minSamples: Count,
  fromAt: Instant,
  toAt: Instant,
  /** Range starts are rounded down to the stored checkpoints (minute, hour or day, by age). */
  effectiveFromAt: Instant,
  features: z.array(z.string()),
  hasPredictions: z.boolean(),
  /** The most drifting rows first (drift share, then largest score), at most `limit` of them. */
  rows: z.array(DriftRow),
  totalRows: Count,
  driftingRows: Count,
  insufficientRows: Count,
  /** Per feature (same order as `features`): how many of all rows drift on it. */
  featureDriftCounts: z.array(Count),
})
export type DriftHeatmap = z.infer<typeof DriftHeatmap>

export const DriftScores = z.object({ psi: z.number(), jensenShannon: z.number(), wasserstein: z.number() })
export type DriftScores = z.infer<typeof DriftScores>

/** Reference vs live counts of one feature (or of the predictions) for the whole release, a cohort or a device. */
export const HistogramOverlay = z.object({
  modelSha256: Sha256Hex,
  feature: z.string(),
  scope: z.object({ by: DriftGrouping.nullable(), key: z.string().nullable() }),
  fromAt: Instant,
  toAt: Instant,
  binEdges: z.array(z.number()),
  binLabels: z.array(z.string()),
  referenceCounts: z.array(Count),
  liveCounts: z.array(Count),
  sampleCount: Count,
  /** Null when nothing was counted. */
  scores: DriftScores.nullable(),
  verdict: DriftVerdict,
})
export type HistogramOverlay = z.infer<typeof HistogramOverlay>

export const TimeResolution = z.enum(['minute', 'hour', 'day'])
export type TimeResolution = z.infer<typeof TimeResolution>

export const ReleaseLabel = z.object({ modelSha256: Sha256Hex.nullable(), label: z.string() })
export type ReleaseLabel = z.infer<typeof ReleaseLabel>

export const LatencyPoint = z.object({
  bucketStartAt: Instant,
  /** Null for windows that ran no model. */
  modelSha256: Sha256Hex.nullable(),
  p50Ms: z.number().nonnegative(),
  p95Ms: z.number().nonnegative(),
  p99Ms: z.number().nonnegative(),
  requestCount: Count,
  errorCount: Count,
})
export type LatencyPoint = z.infer<typeof LatencyPoint>

export const LatencySeries = z.object({
  fromAt: Instant,
  toAt: Instant,
  resolution: TimeResolution,
  releases: z.array(ReleaseLabel),
  points: z.array(LatencyPoint),
})
export type LatencySeries = z.infer<typeof LatencySeries>

export const PredictionSeries = z.object({
  modelSha256: Sha256Hex,
  fromAt: Instant,
  toAt: Instant,
  resolution: TimeResolution,
  binLabels: z.array(z.string()),
  referenceCounts: z.array(Count),
  points: z.array(z.object({ bucketStartAt: Instant, counts: z.array(Count), total: Count })),
})
export type PredictionSeries = z.infer<typeof PredictionSeries>

export const AlertKind = z.enum(['drift', 'latency'])
export type AlertKind = z.infer<typeof AlertKind>

export const Alert = z.object({
  alertId: z.int().positive(),
  kind: AlertKind,
  deviceId: DeviceId,
  modelSha256: Sha256Hex.nullable(),
  /** Drift: the device's drift share; latency: p95 in ms, of the window that raised it. */
  value: z.number(),
  threshold: z.number(),
  consecutiveWindows: z.int().positive(),
  firstWindowStartAt: Instant,
  lastWindowEndAt: Instant,
  raisedAt: Instant,
  /** When a later evaluation window was back under the threshold; null while active. */
  clearedAt: Instant.nullable(),
  detail: z.string().max(500),
})
export type Alert = z.infer<typeof Alert>

export const CountByName = z.object({ name: z.string().nullable(), deviceCount: Count, onlineCount: Count })
export type CountByName = z.infer<typeof CountByName>

export const FleetOverview = z.object({
  deviceCount: Count,
  onlineCount: Count,
  /** Running model versions ('name@version'; null name for devices without a model). */
  versions: z.array(CountByName.extend({ modelSha256: Sha256Hex.nullable() })),
  executionProviders: z.array(CountByName),
  arches: z.array(CountByName),
  activeAlertCount: Count,
  /** Active alerts first, then the latest cleared ones, at most 20. */
  alerts: z.array(Alert),
  lastHour: z.object({ windowCount: Count, requestCount: Count, errorCount: Count }),
})
export type FleetOverview = z.infer<typeof FleetOverview>

export const DriftReferenceSummary = z.object({
  modelSha256: Sha256Hex,
  binsSha256: Sha256Hex,
  label: z.string(),
  features: z.array(z.string()),
  hasPredictions: z.boolean(),
  referenceSampleCount: Count,
  registeredAt: Instant,
})
export type DriftReferenceSummary = z.infer<typeof DriftReferenceSummary>

export const TelemetryWindowSummary = z.object({
  deviceId: DeviceId,
  reportSeq: Count,
  windowStartAt: Instant,
  windowEndAt: Instant,
  receivedAt: Instant,
  modelSha256: Sha256Hex.nullable(),
  executionProvider: z.string().nullable(),
  requestCount: Count,
  errorCount: Count,
  p95Ms: z.number().nonnegative(),
  /** Samples counted into the first feature's bins (0 without drift counts). */
  sampleCount: Count,
  /** Against the model's reference, under the current settings; null without a usable reference or counts. */
  driftShare: z.number().min(0).max(1).nullable(),
  verdict: DriftVerdict,
})
export type TelemetryWindowSummary = z.infer<typeof TelemetryWindowSummary>

export const DeviceDriftDetail = z.object({
  deviceId: DeviceId,
  modelSha256: Sha256Hex,
  tags: DeviceTags,
  fromAt: Instant,
  toAt: Instant,
  features: z.array(z.string()),
  /** The device over the whole range (null when it has no counts there). */
  row: DriftRow.nullable(),
  /** Per hour: drift share and the distance of each feature (null cells without samples). */
  series: z.array(z.object({ bucketStartAt: Instant, driftShare: z.number().nullable(), scores: z.array(z.number().nullable()) })),
  latency: z.array(LatencyPoint),
  /** The newest raw windows in the range (kept for the raw retention period). */
  windows: z.array(TelemetryWindowSummary),
})
export type DeviceDriftDetail = z.infer<typeof DeviceDriftDetail>

export const WindowDetail = z.object({
  window: TelemetryWindowSummary,
  features: z.array(z.string()),
  cells: z.array(DriftCell),
  prediction: DriftCell.nullable(),
  latencyCounts: z.array(Count),
})
export type WindowDetail = z.infer<typeof WindowDetail>
