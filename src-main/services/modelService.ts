/** Imports models (validated by loading them, then stored by content) and deploys them to devices as directives. */
import type { ModelSummary } from '../../src-shared/domain/model.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import {
  CHUNK_SIZE_BYTES,
  Directive,
  MAX_CHUNK_LIST_BYTES,
  PROTOCOL_VERSION,
  encodeMessage,
  type ArtifactRef,
} from '../../src-shared/protocol/messages.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import { buildChunkList, chunkCount, modelIdFromSha256, modelNameFromFileName } from '../core/artifacts/chunkList.ts'
import { toDeviceSummary } from '../core/fleet/deviceRecord.ts'
import type { Clock } from '../ports/Clock.ts'
import type { ContentHasher } from '../ports/ContentHasher.ts'
import type { DeviceRepository } from '../ports/DeviceRepository.ts'
import type { DirectiveRepository } from '../ports/DirectiveRepository.ts'
import type { MessageBus } from '../ports/MessageBus.ts'
import type { ModelInspector } from '../ports/ModelInspector.ts'
import type { ModelRecord, ModelRepository } from '../ports/ModelRepository.ts'
import type { ModelStore } from '../ports/ModelStore.ts'
import type { Notifier } from '../ports/Notifier.ts'

/** ArtifactRef.sizeBytes is capped at 2^31 bytes; files above it could never be delivered. */
export const MAX_MODEL_BYTES = 2 ** 31

export interface ModelLabel {
  name?: string | undefined
  version?: string | undefined
}

export interface ModelServiceOptions {
  models: ModelRepository
  devices: DeviceRepository
  directives: DirectiveRepository
  store: ModelStore
  inspector: ModelInspector
  hasher: ContentHasher
  bus: MessageBus
  clock: Clock
  notifier: Notifier
  log: Logger
}

export function toModelSummary(record: ModelRecord): ModelSummary {
  const { chunkSizeBytes: _size, chunkCount: _count, chunkListJson: _json, chunkListSha256: _sha, ...summary } = record
  return summary
}

export function createModelService(options: ModelServiceOptions) {
  const { models, devices, directives, store, inspector, hasher, bus, clock, notifier, log } = options

  async function importBytes(bytes: Uint8Array, fileName: string, label: ModelLabel): Promise<ModelSummary> {
    if (bytes.byteLength > MAX_MODEL_BYTES) {
      throw new AppError('invalid-input', `${fileName} is ${bytes.byteLength} bytes; models up to ${MAX_MODEL_BYTES} bytes can be delivered`)
    }
    // Nothing is stored before the runtime has loaded the bytes: an invalid upload leaves no trace.
    const description = await inspector.inspect(bytes, fileName)
    const sha256 = hasher.sha256Hex(bytes)
    const existing = await models.getBySha256(sha256)
    if (existing) return toModelSummary(existing)

    const chunkSha256s: string[] = []
    for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_SIZE_BYTES) {
      chunkSha256s.push(hasher.sha256Hex(bytes.subarray(offset, offset + CHUNK_SIZE_BYTES)))
    }
    const chunkListBytes = encodeMessage(buildChunkList(sha256, CHUNK_SIZE_BYTES, chunkSha256s))
    if (chunkListBytes.byteLength > MAX_CHUNK_LIST_BYTES) {
      throw new AppError('invalid-input', `${fileName} is too large to deliver: its chunk list exceeds ${MAX_CHUNK_LIST_BYTES} bytes`)
    }
    const name = label.name ?? modelNameFromFileName(fileName)
    const record: ModelRecord = {
      modelId: modelIdFromSha256(sha256),
      name,
      version: label.version ?? String((await models.countByName(name)) + 1),
      format: description.format,
      sha256,
      sizeBytes: bytes.byteLength,
      importedAt: new Date(clock.nowMs()).toISOString(),
      inputs: description.inputs,
      outputs: description.outputs,
      sourceFileName: (fileName.split(/[\\/]/).pop() ?? fileName).slice(0, 256),
      chunkSizeBytes: CHUNK_SIZE_BYTES,
      chunkCount: chunkCount(bytes.byteLength, CHUNK_SIZE_BYTES),
      chunkListJson: new TextDecoder().decode(chunkListBytes),
      chunkListSha256: hasher.sha256Hex(chunkListBytes),
    }
    await store.write(sha256, bytes)
    await models.insert(record)
    const summary = toModelSummary(record)
    log.info('Imported a model', { modelId: record.modelId, name: record.name, version: record.version, sizeBytes: record.sizeBytes })
    notifier.modelChanged(summary)
    return summary
  }

  return {
    async list(): Promise<ModelSummary[]> {
      return (await models.list()).map(toModelSummary)
    },

    /** Imports bytes received from the UI. Throws 'model-invalid', 'model-unsupported', 'invalid-input'. */
    importBytes,

    /** Imports a file on this machine. Throws as importBytes, plus 'not-found' for a missing file. */
    async importFile(path: string, label: ModelLabel): Promise<ModelSummary> {
      const { bytes, fileName } = await store.readImportFile(path, MAX_MODEL_BYTES)
      return importBytes(bytes, fileName, label)
    },

    /**
     * Gives each device a new install directive (next sequence number, persisted first) and publishes it. A device
     * that is offline gets it on its next sync. Throws 'not-found' for an unknown model or device, before issuing any.
     */
    async deploy(modelId: string, deviceIds: readonly string[]): Promise<{ directives: Array<{ deviceId: string; seq: number }> }> {
      const model = await models.get(modelId)
      if (!model) throw new AppError('not-found', `No model ${modelId}; import it first (outpost models list shows the ids)`, { modelId })
      const uniqueIds = [...new Set(deviceIds)]
      const missing: string[] = []
      for (const deviceId of uniqueIds) if (!(await devices.get(deviceId))) missing.push(deviceId)
      if (missing.length > 0) {
        throw new AppError('not-found', `Unknown device${missing.length > 1 ? 's' : ''} ${missing.slice(0, 10).join(', ')}; enroll first`, {
          deviceIds: missing,
        })
      }
      const artifact: ArtifactRef = {
        modelId: model.modelId,
        name: model.name,
        version: model.version,
        format: model.format,
        sha256: model.sha256,
        sizeBytes: model.sizeBytes,
        chunkSizeBytes: model.chunkSizeBytes,
        chunkCount: model.chunkCount,
        chunkListSha256: model.chunkListSha256,
      }
      const issued: Array<{ deviceId: string; seq: number }> = []
      for (const deviceId of uniqueIds) {
        const directive = await directives.issueNext(deviceId, (seq) =>
          Directive.parse({ v: PROTOCOL_VERSION, deviceId, seq, issuedAt: new Date(clock.nowMs()).toISOString(), action: 'install', artifact }),
        )
        issued.push({ deviceId, seq: directive.seq })
        // Persisted first, then published: if the publish fails the device still gets the directive on its next sync.
        bus.publish(topics.desired(deviceId), encodeMessage(directive), { qos: 1 }).catch((error: unknown) => {
          log.warn('Could not publish a directive now; the device gets it on its next sync', {
            deviceId,
            seq: directive.seq,
            reason: error instanceof Error ? error.message : String(error),
          })
        })
        const device = await devices.get(deviceId)
        if (device) notifier.deviceChanged(toDeviceSummary(device))
      }
      log.info('Deployed a model', { modelId, deviceCount: issued.length })
      return { directives: issued }
    },
  }
}

export type ModelService = ReturnType<typeof createModelService>
