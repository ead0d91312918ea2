/** Test-data builders for the dashboards: complete, valid server answers with only what a test needs overridden. */
import type {
  Alert,
  DeviceDriftDetail,
  DriftCell,
  DriftHeatmap,
  DriftReferenceSummary,
  DriftRow,
  FleetOverview,
  HistogramOverlay,
  LatencySeries,
  PredictionSeries,
  WindowDetail,
} from '../../../src-shared/domain/drift.ts'

export const TEST_MODEL_SHA256 = 'ab'.repeat(32)
export const TEST_BINS_SHA256 = 'cd'.repeat(32)

export function anOverview(overrides: Partial<FleetOverview> = {}): FleetOverview {
  return {
    deviceCount: 0,
    onlineCount: 0,
    versions: [],
    executionProviders: [],
    arches: [],
    activeAlertCount: 0,
    alerts: [],
    lastHour: { windowCount: 0, requestCount: 0, errorCount: 0 },
    ...overrides,
  }
}

export function anAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    alertId: 1,
    kind: 'drift',
    deviceId: 'cam-1',
    modelSha256: TEST_MODEL_SHA256,
    value: 0.6,
    threshold: 0.5,
    consecutiveWindows: 3,
    firstWindowStartAt: '2025-01-01T11:00:00.000Z',
    lastWindowEndAt: '2025-01-01T11:03:00.000Z',
    raisedAt: '2025-01-01T11:03:01.000Z',
    clearedAt: null,
    detail: '60% of features at psi >= 0.1 in 3 consecutive evaluation windows',
    ...overrides,
  }
}

export function aReference(overrides: Partial<DriftReferenceSummary> = {}): DriftReferenceSummary {
  return {
    modelSha256: TEST_MODEL_SHA256,
    binsSha256: TEST_BINS_SHA256,
    label: 'tiny@1.0.0',
    features: ['f0', 'f1'],
    hasPredictions: true,
    referenceSampleCount: 5000,
    registeredAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  }
}

export function aCell(feature: string, score: number | null, verdict: DriftCell['verdict'] = score !== null && score >= 0.1 ? 'drift' : 'stable'): DriftCell {
  return { feature, score, sampleCount: verdict === 'insufficient' ? 40 : 1200, verdict }
}

export function aRow(key: string, cells: DriftCell[], overrides: Partial<DriftRow> = {}): DriftRow {
  const evaluated = cells.filter((cell) => cell.verdict !== 'insufficient')
  const driftShare = evaluated.length === 0 ? null : evaluated.filter((cell) => cell.verdict === 'drift').length / evaluated.length
  return {
    key,
    deviceCount: 1,
    cells,
    prediction: aCell('class', 0.01),
    driftShare,
    verdict: driftShare === null ? 'insufficient' : driftShare >= 0.5 ? 'drift' : 'stable',
    ...overrides,
  }
}

export function aHeatmap(rows: DriftRow[], overrides: Partial<DriftHeatmap> = {}): DriftHeatmap {
  const features = rows[0]?.cells.map((cell) => cell.feature) ?? ['f0', 'f1']
  return {
    modelSha256: TEST_MODEL_SHA256,
    binsSha256: TEST_BINS_SHA256,
    releaseLabel: 'tiny@1.0.0',
    by: 'device',
    metric: 'psi',
    threshold: 0.1,
    minSamples: 200,
    fromAt: '2025-01-01T11:00:00.000Z',
    toAt: '2025-01-01T12:00:00.000Z',
    effectiveFromAt: '2025-01-01T11:00:00.000Z',
    features,
    hasPredictions: true,
    rows,
    totalRows: rows.length,
    driftingRows: rows.filter((row) => row.verdict === 'drift').length,
    insufficientRows: rows.filter((row) => row.verdict === 'insufficient').length,
    featureDriftCounts: features.map((_, index) => rows.filter((row) => row.cells[index]?.verdict === 'drift').length),
    ...overrides,
  }
}

export function anOverlay(overrides: Partial<HistogramOverlay> = {}): HistogramOverlay {
  return {
    modelSha256: TEST_MODEL_SHA256,
    feature: 'f0',
    scope: { by: null, key: null },
    fromAt: '2025-01-01T11:00:00.000Z',
    toAt: '2025-01-01T12:00:00.000Z',
    binEdges: [0],
    binLabels: ['< 0', '>= 0'],
    referenceCounts: [500, 500],
    liveCounts: [100, 900],
    sampleCount: 1000,
    scores: { psi: 0.88, jensenShannon: 0.3, wasserstein: 0.4 },
    verdict: 'drift',
    ...overrides,
  }
}

export function aLatencySeries(overrides: Partial<LatencySeries> = {}): LatencySeries {
  return {
    fromAt: '2025-01-01T11:00:00.000Z',
    toAt: '2025-01-01T12:00:00.000Z',
    resolution: 'minute',
    releases: [{ modelSha256: TEST_MODEL_SHA256, label: 'tiny@1.0.0' }],
    points: [
      { bucketStartAt: '2025-01-01T11:00:00.000Z', modelSha256: TEST_MODEL_SHA256, p50Ms: 1, p95Ms: 2, p99Ms: 3, requestCount: 100, errorCount: 0 },
      { bucketStartAt: '2025-01-01T11:01:00.000Z', modelSha256: TEST_MODEL_SHA256, p50Ms: 1.1, p95Ms: 2.4, p99Ms: 3.9, requestCount: 120, errorCount: 1 },
    ],
    ...overrides,
  }
}

export function aPredictionSeries(overrides: Partial<PredictionSeries> = {}): PredictionSeries {
  return {
    modelSha256: TEST_MODEL_SHA256,
    fromAt: '2025-01-01T11:00:00.000Z',
    toAt: '2025-01-01T12:00:00.000Z',
    resolution: 'minute',
    binLabels: ['class 0', 'class 1'],
    referenceCounts: [60, 40],
    points: [{ bucketStartAt: '2025-01-01T11:00:00.000Z', counts: [30, 70], total: 100 }],
    ...overrides,
  }
}

export function aDeviceDetail(deviceId: string, overrides: Partial<DeviceDriftDetail> = {}): DeviceDriftDetail {
  return {
    deviceId,
    modelSha256: TEST_MODEL_SHA256,
    tags: ['north'],
    fromAt: '2025-01-01T11:00:00.000Z',
    toAt: '2025-01-01T12:00:00.000Z',
    features: ['f0', 'f1'],
    row: aRow(deviceId, [aCell('f0', 0.9), aCell('f1', 0.02)]),
    series: [
      { bucketStartAt: '2025-01-01T11:00:00.000Z', driftShare: 0, scores: [0.01, 0.02] },
      { bucketStartAt: '2025-01-01T11:30:00.000Z', driftShare: 0.5, scores: [0.9, 0.02] },
    ],
    latency: [],
    windows: [
      {
        deviceId,
        reportSeq: 7,
        windowStartAt: '2025-01-01T11:50:00.000Z',
        windowEndAt: '2025-01-01T11:50:10.000Z',
        receivedAt: '2025-01-01T11:50:10.100Z',
        modelSha256: TEST_MODEL_SHA256,
        executionProvider: 'cpu',
        requestCount: 50,
        errorCount: 0,
        p95Ms: 2.5,
        sampleCount: 50,
        driftShare: null,
        verdict: 'insufficient',
      },
    ],
    ...overrides,
  }
}

export function aWindowDetail(deviceId: string, reportSeq: number): WindowDetail {
  const summary = aDeviceDetail(deviceId).windows[0]
  if (!summary) throw new Error('aDeviceDetail has a window')
  return {
    window: { ...summary, reportSeq },
    features: ['f0', 'f1'],
    cells: [aCell('f0', 1.2, 'insufficient'), aCell('f1', 0.05, 'insufficient')],
    prediction: null,
    latencyCounts: new Array<number>(73).fill(0),
  }
}
