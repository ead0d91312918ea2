import type { ReleaseSummary, TrustStatus } from '../../src-shared/contract/releasesContract.ts'
import type { SystemInfo } from '../../src-shared/contract/systemContract.ts'
import type { DeviceSummary } from '../../src-shared/domain/device.ts'
import type { ModelSummary } from '../../src-shared/domain/model.ts'

/** Test-data builders: a complete, valid value with only what a test cares about overridden. */
export function aDevice(overrides: Partial<DeviceSummary> = {}): DeviceSummary {
  return {
    deviceId: 'd-1',
    isOnline: true,
    firstSeenAt: '2025-01-01T10:00:00.000Z',
    lastSeenAt: '2025-01-01T12:00:00.000Z',
    agentVersion: '0.1.0',
    hardware: {
      arch: 'x64',
      platform: 'linux',
      osRelease: '6.8.0',
      hostname: 'edge-box-1',
      cpuModel: 'Test CPU',
      cpuCount: 4,
      memoryBytes: 8 * 1024 ** 3,
      accelerators: [],
    },
    executionProviders: [{ name: 'cpu', isAvailable: true }],
    executionProvider: null,
    activeModel: null,
    desiredModelId: null,
    install: { state: 'idle', progress: 0, errorCode: null, message: null },
    latency: null,
    ...overrides,
  }
}

export function aModel(overrides: Partial<ModelSummary> = {}): ModelSummary {
  return {
    modelId: 'm-0123456789ab',
    name: 'tiny-classifier',
    version: '1.0.0',
    format: 'onnx',
    sha256: 'ab'.repeat(32),
    sizeBytes: 2048,
    importedAt: '2025-01-01T09:00:00.000Z',
    inputs: [{ name: 'features', elementType: 'float32', shape: ['N', 16] }],
    outputs: [{ name: 'probabilities', elementType: 'float32', shape: ['N', 4] }],
    sourceFileName: 'tiny-classifier.onnx',
    ...overrides,
  }
}

export function aSystemInfo(overrides: Partial<SystemInfo> = {}): SystemInfo {
  return {
    productVersion: '0.1.0',
    host: 'headless',
    dataDir: '/data/outpost',
    databaseFile: '/data/outpost/outpost.db',
    brokerUrl: 'mqtt://127.0.0.1:1883',
    brokerKind: 'embedded',
    startedAt: '2025-01-01T08:00:00.000Z',
    ...overrides,
  }
}

export function aRelease(overrides: Partial<ReleaseSummary> = {}): ReleaseSummary {
  return {
    releaseId: '5e'.repeat(32),
    modelId: 'tiny',
    releaseCounter: 1_002_003,
    version: '1.2.3',
    issuedAt: '2025-01-01T00:00:00.000Z',
    expiresAt: '2025-06-30T00:00:00.000Z',
    importedAt: '2025-01-02T00:00:00.000Z',
    updatedAt: '2025-01-02T00:00:00.000Z',
    isExpired: false,
    files: [
      { name: 'model.onnx', sizeBytes: 3140, sha256: 'b0'.repeat(32), chunkCount: 1 },
      { name: 'golden_inputs.npz', sizeBytes: 378, sha256: '5c'.repeat(32), chunkCount: 0 },
      { name: 'golden_outputs.npz', sizeBytes: 292, sha256: '98'.repeat(32), chunkCount: 0 },
    ],
    runtime: 'onnxruntime-node',
    runtimeMinVersion: '1.30.0',
    opsetMax: 17,
    executionProviders: ['cpu'],
    healthTolerance: 0.001,
    signatures: {
      threshold: 2,
      validCount: 2,
      roleKeyCount: 3,
      isThresholdMet: true,
      entries: [
        { keyid: '11'.repeat(32), status: 'valid' },
        { keyid: '22'.repeat(32), status: 'valid' },
      ],
    },
    card: null,
    lineage: null,
    overrideReason: null,
    ...overrides,
  }
}

export function aTrustStatus(overrides: Partial<TrustStatus> = {}): TrustStatus {
  return {
    isConfigured: true,
    rootVersion: 1,
    rootExpiresAt: '2026-01-01T00:00:00.000Z',
    releaseThreshold: 2,
    releaseKeyCount: 3,
    directorKeyid: 'dd'.repeat(32),
    ...overrides,
  }
}
