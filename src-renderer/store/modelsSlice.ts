import { MAX_UPLOAD_BYTES } from '../../src-shared/contract/modelsContract.ts'
import type { DeviceId, ModelId } from '../../src-shared/domain/ids.ts'
import type { ModelSummary } from '../../src-shared/domain/model.ts'
import type { OutpostClient } from '../api/outpostClient.ts'
import { bytesToBase64 } from '../lib/base64.ts'
import { formatBytes } from '../lib/format.ts'
import type { SliceCreator } from './appState.ts'
import { asUiError, createPushLedger, type LoadState, type UiError } from './loadState.ts'

/** What the import form needs from a File (a Blob satisfies it). */
export interface ModelFile {
  name: string
  size: number
  arrayBuffer: () => Promise<ArrayBuffer>
}

export interface ModelLabel {
  name?: string
  version?: string
}

export type UploadState =
  | { status: 'idle' }
  | { status: 'reading'; fileName: string; sizeBytes: number }
  | { status: 'uploading'; fileName: string; sizeBytes: number }
  | { status: 'done'; model: ModelSummary }
  | { status: 'failed'; fileName: string; error: UiError }

export interface DeployDirective {
  deviceId: DeviceId
  seq: number
}

export type DeployState =
  | { status: 'idle' }
  | { status: 'running'; modelId: ModelId; deviceIds: DeviceId[] }
  | { status: 'done'; modelId: ModelId; directives: DeployDirective[] }
  | { status: 'failed'; modelId: ModelId; error: UiError }

export interface ModelsSlice {
  modelsById: Record<ModelId, ModelSummary>
  modelsLoad: LoadState
  upload: UploadState
  deploy: DeployState
  loadModels: () => Promise<void>
  applyModelChanged: (model: ModelSummary) => void
  /** Reads the file, sends it base64-encoded to 'models.upload' and records the outcome in `upload`. */
  uploadModel: (file: ModelFile, label?: ModelLabel) => Promise<void>
  /** Sends 'models.deploy' and records the directives (or the error) in `deploy`. */
  deployModel: (modelId: ModelId, deviceIds: DeviceId[]) => Promise<void>
}

export const createModelsSlice =
  (client: OutpostClient): SliceCreator<ModelsSlice> =>
  (set, get) => {
    const pushedDuringLoad = createPushLedger<ModelSummary>()
    return {
      modelsById: {},
      modelsLoad: 'idle',
      upload: { status: 'idle' },
      deploy: { status: 'idle' },
      async loadModels() {
        set({ modelsLoad: 'loading' })
        const pushed = pushedDuringLoad.open()
        try {
          const models = await client.call('models.list', {})
          const listed = Object.fromEntries(models.map((model) => [model.modelId, model]))
          set({ modelsById: { ...listed, ...Object.fromEntries(pushed) }, modelsLoad: 'ready' })
        } catch (error) {
          set({ modelsLoad: { error: asUiError(error) } })
        } finally {
          pushedDuringLoad.close(pushed)
        }
      },
      applyModelChanged(model) {
        pushedDuringLoad.record(model.modelId, model)
        set((state) => ({ modelsById: { ...state.modelsById, [model.modelId]: model } }))
      },
      async uploadModel(file, label = {}) {
        const fileName = file.name
        const fail = (error: UiError) => set({ upload: { status: 'failed', fileName, error } })
        // Checked here so a too-large file fails at once instead of after reading and encoding it.
        if (file.size > MAX_UPLOAD_BYTES) {
          return fail({
            code: 'message-too-large',
            message: `${fileName} is ${formatBytes(file.size)}; uploads are limited to ${formatBytes(MAX_UPLOAD_BYTES)}`,
          })
        }
        if (file.size === 0) return fail({ code: 'model-invalid', message: `${fileName} is empty` })
        set({ upload: { status: 'reading', fileName, sizeBytes: file.size } })
        try {
          const contentBase64 = bytesToBase64(new Uint8Array(await file.arrayBuffer()))
          set({ upload: { status: 'uploading', fileName, sizeBytes: file.size } })
          const name = label.name?.trim()
          const version = label.version?.trim()
          const model = await client.call('models.upload', {
            fileName: fileName.slice(0, 256),
            contentBase64,
            ...(name ? { name } : {}),
            ...(version ? { version } : {}),
          })
          get().applyModelChanged(model)
          set({ upload: { status: 'done', model } })
        } catch (error) {
          fail(asUiError(error))
        }
      },
      async deployModel(modelId, deviceIds) {
        set({ deploy: { status: 'running', modelId, deviceIds } })
        try {
          const { directives } = await client.call('models.deploy', { modelId, deviceIds })
          set({ deploy: { status: 'done', modelId, directives } })
        } catch (error) {
          set({ deploy: { status: 'failed', modelId, error: asUiError(error) } })
        }
      },
    }
  }
