import type {
  Alert,
  DeviceDriftDetail,
  DriftGrouping,
  DriftHeatmap,
  DriftReference,
  DriftReferenceSummary,
  DriftSettings,
  FleetOverview,
  HistogramOverlay,
  LatencySeries,
  PredictionSeries,
  ReleaseLabel,
  WindowDetail,
} from '../../src-shared/domain/drift.ts'

/** What one rollup pass consumed and decided. */
export interface RollupPassResult {
  windowCount: number
  /** Windows whose drift counts could not be used: other bins than the registered reference, or wrong lengths. */
  unmatchedDriftWindows: number
  raised: Alert[]
  clearedAlertIds: number[]
  latestWindowEndAt: string | null
  /** More committed windows wait above the new watermark. */
  hasMore: boolean
}

export interface RetentionResult {
  rawWindowsDeleted: number
  seriesRowsDeleted: number
  deviceRollupsDeleted: number
  checkpointsThinned: number
}

/** Rolls committed telemetry windows up, exactly once each, and applies the retention policy. */
export interface TelemetryRollupJob {
  /** Consumes up to `maxWindows` windows above the watermark in one transaction. */
  runPass(maxWindows?: number): Promise<RollupPassResult>
  /** Deletes raw windows past retention (only rolled-up ones) and thins old rollups. `nowMs` is epoch ms. */
  applyRetention(nowMs: number): Promise<RetentionResult>
}

/** Counters of the ingest path (the batching telemetry repository). */
export interface TelemetryIngestCounters {
  storedWindows: number
  duplicateWindows: number
  committedBatches: number
  failedBatches: number
  pendingWindows: number
}

/** A half-open time range [fromMs, toMs) in epoch ms, with the caller's clock for retention-aware choices. */
export interface TimeRange {
  fromMs: number
  toMs: number
  nowMs: number
}

/** Read side of the telemetry store. Every method aggregates in the store; throws AppError as documented. */
export interface TelemetryQueries {
  overview(nowMs: number): Promise<FleetOverview>
  latency(range: TimeRange, modelSha256?: string): Promise<LatencySeries>
  /** Throws 'not-found' without a reference, 'invalid-input' without prediction bins. */
  predictions(modelSha256: string, range: TimeRange): Promise<PredictionSeries>
  /** Throws 'not-found' without a reference. */
  heatmap(modelSha256: string, range: TimeRange, options: { by: DriftGrouping; settings: DriftSettings; limit: number }): Promise<DriftHeatmap>
  /** Throws 'not-found' without a reference or without that feature. */
  overlay(
    modelSha256: string,
    feature: string,
    range: TimeRange,
    options: { scope: { by: DriftGrouping; key: string } | null; settings: DriftSettings },
  ): Promise<HistogramOverlay>
  /** Throws 'not-found' for an unknown device or without a reference. */
  deviceDetail(modelSha256: string, deviceId: string, range: TimeRange, options: { settings: DriftSettings; windowLimit: number }): Promise<DeviceDriftDetail>
  /** Throws 'not-found' when the window is not stored (anymore). */
  windowDetail(deviceId: string, reportSeq: number, settings: DriftSettings): Promise<WindowDetail>
  alerts(options: { activeOnly: boolean; limit: number }): Promise<Alert[]>
  references(): Promise<DriftReferenceSummary[]>
  /** A full or ≥8-char sha256 prefix, model id, name@version or reference label. Throws 'not-found' or 'conflict'. */
  resolveRelease(release: string): Promise<ReleaseLabel & { modelSha256: string }>
}

/** Writable drift configuration: reference bins per model, settings, device tags. */
export interface DriftStore {
  /**
   * Registers (or replaces) the reference bins of a model and returns its summary. Replacing bins with different
   * ones discards the drift counts rolled up under the old bins, which can no longer be compared.
   */
  registerReference(modelSha256: string, reference: DriftReference, label: string, registeredAt: string): Promise<DriftReferenceSummary>
  readSettings(): Promise<DriftSettings>
  writeSettings(settings: DriftSettings): Promise<void>
  /** Throws 'not-found' for an unknown device. */
  setDeviceTags(deviceId: string, tags: readonly string[]): Promise<string[]>
}
