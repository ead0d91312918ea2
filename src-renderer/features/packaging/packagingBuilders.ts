/** Test-data builders for the packaging panels: complete, valid values with only what a test cares about overridden. */
import type { ModelCard, ModelEvaluation } from '../../../src-shared/contract/packagingContract.ts'
import type { EvaluationResult, LatencySummary } from '../../../src-shared/domain/evaluation.ts'
import type { ModelInspection } from '../../../src-shared/domain/modelInspection.ts'

export function anInspection(overrides: Partial<ModelInspection> = {}): ModelInspection {
  return {
    format: 'onnx',
    sizeBytes: 3140,
    formatVersion: 8,
    irVersion: 8,
    opsets: { '': 13, 'com.microsoft': 1 },
    producerName: 'pytorch',
    producerVersion: '2.3.0',
    description: null,
    metadata: [],
    inputs: [{ name: 'features', elementType: 'float32', shape: ['batch', 16] }],
    outputs: [{ name: 'probabilities', elementType: 'float32', shape: ['batch', 4] }],
    nodeCount: 7,
    opHistogram: [
      { opType: 'MatMul', domain: '', path: 'main', count: 2 },
      { opType: 'Add', domain: '', path: 'main', count: 2 },
      { opType: 'Relu', domain: '', path: 'main', count: 1 },
      { opType: 'Softmax', domain: '', path: 'main', count: 1 },
      { opType: 'FancyGelu', domain: 'custom.ops', path: 'main', count: 1 },
    ],
    customOps: [{ domain: 'custom.ops', opType: 'FancyGelu', count: 1, definedByModelFunction: false }],
    parameterCount: 676,
    parameterBytes: 2704,
    parametersByDtype: [{ dtype: 'float32', count: 676, bytes: 2704 }],
    externalDataFiles: [],
    subgraphCount: 0,
    warnings: ['Custom operator custom.ops.FancyGelu needs a kernel that stock onnxruntime does not have'],
    ...overrides,
  }
}

export function aModelCard(overrides: Partial<ModelCard> = {}): ModelCard {
  return {
    cardVersion: 1,
    createdAt: '2025-01-02T00:00:00.000Z',
    tool: { name: 'outpost', version: '0.1.0' },
    source: { sha256: 'ab'.repeat(32), fileName: 'tiny-classifier.onnx', sizeBytes: 3140, modelId: 'm-0123456789ab', name: 'tiny-classifier', version: '1.0.0' },
    output: { sha256: 'cd'.repeat(32), fileName: 'tiny-classifier-int8.onnx', sizeBytes: 2327 },
    recipe: 'int8-dynamic',
    options: { method: null, perChannel: false, graphLevel: null },
    calibration: null,
    metrics: { sourceSizeBytes: 3140, outputSizeBytes: 2327, sizeRatio: 2327 / 3140, sourceNodeCount: 6, outputNodeCount: 14, durationMs: 12 },
    report: {
      recipe: 'int8-dynamic',
      summary: { quantizedWeightCount: 2 },
      quantizedNodeCount: 2,
      quantizedNodes: [],
      skippedNodeCount: 0,
      skippedNodes: [],
      truncated: false,
    },
    evaluation: null,
    ...overrides,
  }
}

function latency(p50Ms: number, samplesMs: number[]): LatencySummary {
  return { runs: samplesMs.length, p50Ms, p95Ms: Math.max(...samplesMs), meanMs: p50Ms, minMs: Math.min(...samplesMs), maxMs: Math.max(...samplesMs), samplesMs }
}

export function anEvaluationResult(overrides: Partial<EvaluationResult> = {}): EvaluationResult {
  return {
    sampleCount: 256,
    baseline: { sizeBytes: 3140, latency: latency(0.05, [0.04, 0.05, 0.05, 0.06, 0.08]) },
    candidate: { sizeBytes: 2327, latency: latency(0.04, [0.03, 0.04, 0.04, 0.05, 0.07]) },
    sizeRatio: 2327 / 3140,
    latencyP50Ratio: 0.8,
    outputs: [
      {
        name: 'probabilities',
        elementCount: 1024,
        nonFiniteCount: 0,
        maxAbsError: 0.0123,
        meanAbsError: 0.0011,
        cosineSimilarity: 0.99991,
        meanRowCosine: 0.9999,
        minRowCosine: 0.998,
        baselineMin: 0.01,
        baselineMax: 0.9,
        decisionKind: 'argmax',
        agreement: 0.9805,
        decisionCount: 256,
        errorHistogram: [
          { lowerBound: 0, upperBound: 1e-4, count: 100 },
          { lowerBound: 1e-4, upperBound: 1e-3, count: 600 },
          { lowerBound: 1e-3, upperBound: 1e-2, count: 320 },
          { lowerBound: 1e-2, upperBound: null, count: 4 },
        ],
      },
    ],
    top1Agreement: 0.9805,
    accuracy: null,
    ...overrides,
  }
}

export function anEvaluation(overrides: Partial<ModelEvaluation> = {}): ModelEvaluation {
  return {
    operationId: 'op-1',
    baselineId: 'm-0123456789ab',
    candidateId: 'm-cdcdcdcdcdcd',
    baselineSha256: 'ab'.repeat(32),
    candidateSha256: 'cd'.repeat(32),
    evaluatedAt: '2025-01-02T00:00:00.000Z',
    inputs: { sha256: 'ef'.repeat(32), source: 'synthetic', name: 'synthetic', sampleCount: 256, arrays: [], seed: 1 },
    gate: { minAgreement: 0.99 },
    result: anEvaluationResult(),
    readiness: { isReleaseReady: false, reasons: ['Top-1 agreement with the baseline is 98.05%, below the required 99.00%.'] },
    ...overrides,
  }
}
