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
