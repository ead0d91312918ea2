/**
 * Packaging state of the Models page: which tool is open for which model (inspect, optimize, compare), loaded
 * inspections and cards, and the one optimize and one evaluate operation that may run, with the progress pushed
 * as `packaging.progressed` for their operation ids.
 */
import {
  type CalibrationMethodName,
  MAX_ARRAY_UPLOAD_BYTES,
  type ModelCardView,
  type ModelEvaluation,
  type OptimizationRecipe,
  type OptimizeResult,
  type PackagingPhase,
  type PackagingProgressed,
  type SyntheticInputs,
} from '../../../src-shared/contract/packagingContract.ts'
import type { ModelId } from '../../../src-shared/domain/ids.ts'
import type { ModelInspection } from '../../../src-shared/domain/modelInspection.ts'
import type { OutpostClient } from '../../api/outpostClient.ts'
import { bytesToBase64 } from '../../lib/base64.ts'
import { formatBytes } from '../../lib/format.ts'
import type { SliceCreator } from '../../store/appState.ts'
import { asUiError, type UiError } from '../../store/loadState.ts'
import type { ModelFile } from '../../store/modelsSlice.ts'

export type PackagingTool = { kind: 'inspect'; modelId: ModelId } | { kind: 'optimize'; modelId: ModelId } | { kind: 'compare'; candidateId: ModelId; baselineId?: ModelId }

export type Loadable<Value> = { status: 'loading' } | { status: 'ready'; value: Value } | { status: 'failed'; error: UiError }

export interface OperationProgress {
  phase: PackagingPhase
  fraction: number
}

export type OperationState<Result> =
  | { status: 'idle' }
  | { status: 'running'; operationId: string; modelId: ModelId; progress: OperationProgress }
  | { status: 'done'; modelId: ModelId; result: Result }
  | { status: 'failed'; modelId: ModelId; error: UiError }

/** Arrays from a file the user picked, or synthetic ones from the model's input shapes. */
export type ArrayChoice = { kind: 'file'; file: ModelFile } | { kind: 'synthetic'; synthetic: SyntheticInputs }

export interface OptimizeForm {
  modelId: ModelId
  recipe: OptimizationRecipe
  method?: CalibrationMethodName | undefined
  perChannel?: boolean | undefined
  /** int8-static only. */
  calibration?: ArrayChoice | undefined
}

export interface CompareForm {
  baselineId: ModelId
  candidateId: ModelId
  inputs: ArrayChoice
  labels?: ModelFile | undefined
  runs?: number | undefined
  minAgreement?: number | undefined
  maxAccuracyDrop?: number | undefined
}

export interface PackagingSlice {
  packagingTool: PackagingTool | null
  inspections: Record<ModelId, Loadable<ModelInspection>>
  cardViews: Record<ModelId, Loadable<ModelCardView>>
  optimization: OperationState<OptimizeResult>
  evaluation: OperationState<ModelEvaluation>
  openPackagingTool: (tool: PackagingTool | null) => void
  loadInspection: (modelId: ModelId) => Promise<void>
  loadCardView: (modelId: ModelId) => Promise<void>
  optimizeModel: (form: OptimizeForm) => Promise<void>
  evaluateCandidate: (form: CompareForm) => Promise<void>
  /** Applies a pushed 'packaging.progressed' to the running operation it belongs to; others are ignored. */
  applyPackagingProgress: (event: PackagingProgressed) => void
}

let operationCounter = 0

/** Unique enough to tell this window's operations apart (crypto.randomUUID needs a secure context, which plain HTTP on a LAN is not). */
export function newOperationId(): string {
  operationCounter += 1
  return `ui-${Date.now().toString(36)}-${operationCounter}-${Math.floor(Math.random() * 0xffffff).toString(36)}`
}

class UploadTooLarge extends Error {
  readonly uiError: UiError
  constructor(uiError: UiError) {
    super(uiError.message)
    this.uiError = uiError
  }
}

async function readUpload(file: ModelFile): Promise<string> {
  if (file.size > MAX_ARRAY_UPLOAD_BYTES) {
    throw new UploadTooLarge({
      code: 'message-too-large',
      message: `${file.name} is ${formatBytes(file.size)}; array uploads are limited to ${formatBytes(MAX_ARRAY_UPLOAD_BYTES)}. Use \`outpost model\` on the command line for larger sets.`,
    })
  }
  return bytesToBase64(new Uint8Array(await file.arrayBuffer()))
}

function toUiError(error: unknown): UiError {
  return error instanceof UploadTooLarge ? error.uiError : asUiError(error)
}

function advance<Result>(state: OperationState<Result>, event: PackagingProgressed): OperationState<Result> {
  if (state.status !== 'running' || state.operationId !== event.operationId) return state
  // Events may overtake each other across reconnects; the bar never moves back.
  if (event.fraction < state.progress.fraction) return state
  return { ...state, progress: { phase: event.phase, fraction: event.fraction } }
}

export const createPackagingSlice =
  (client: OutpostClient): SliceCreator<PackagingSlice> =>
  (set, get) => ({
    packagingTool: null,
    inspections: {},
    cardViews: {},
    optimization: { status: 'idle' },
    evaluation: { status: 'idle' },

    openPackagingTool(tool) {
      set({ packagingTool: tool })
    },

    async loadInspection(modelId) {
      set((state) => ({ inspections: { ...state.inspections, [modelId]: { status: 'loading' } } }))
      try {
        const value = await client.call('models.inspect', { modelId })
        set((state) => ({ inspections: { ...state.inspections, [modelId]: { status: 'ready', value } } }))
      } catch (error) {
        set((state) => ({ inspections: { ...state.inspections, [modelId]: { status: 'failed', error: asUiError(error) } } }))
      }
    },

    async loadCardView(modelId) {
      if (get().cardViews[modelId] === undefined) set((state) => ({ cardViews: { ...state.cardViews, [modelId]: { status: 'loading' } } }))
      try {
        const value = await client.call('models.card', { modelId })
        set((state) => ({ cardViews: { ...state.cardViews, [modelId]: { status: 'ready', value } } }))
      } catch (error) {
        set((state) => ({ cardViews: { ...state.cardViews, [modelId]: { status: 'failed', error: asUiError(error) } } }))
      }
    },

    async optimizeModel(form) {
      const operationId = newOperationId()
      const { modelId } = form
      set({ optimization: { status: 'running', operationId, modelId, progress: { phase: 'loading', fraction: 0 } } })
      try {
        const calibration = form.recipe === 'int8-static' ? form.calibration : undefined
        const upload = calibration?.kind === 'file' ? { calibrationUploadBase64: await readUpload(calibration.file), calibrationFileName: calibration.file.name.slice(0, 256) } : {}
        const result = await client.call('models.optimize', {
          modelId,
          recipe: form.recipe,
          operationId,
          ...(form.recipe === 'int8-static' && form.method !== undefined ? { method: form.method } : {}),
          ...(form.perChannel === true && (form.recipe === 'int8-dynamic' || form.recipe === 'int8-static') ? { perChannel: true } : {}),
          ...upload,
          ...(calibration?.kind === 'synthetic' ? { calibrationFromModelInputs: calibration.synthetic } : {}),
        })
        get().applyModelChanged(result.model)
        set((state) => ({
          optimization: { status: 'done', modelId, result },
          cardViews: { ...state.cardViews, [result.model.modelId]: { status: 'ready', value: { modelId: result.model.modelId, card: result.card, lastEvaluation: null } } },
        }))
      } catch (error) {
        set({ optimization: { status: 'failed', modelId, error: toUiError(error) } })
      }
    },

    async evaluateCandidate(form) {
      const operationId = newOperationId()
      const modelId = form.candidateId
      set({ evaluation: { status: 'running', operationId, modelId, progress: { phase: 'loading', fraction: 0 } } })
      try {
        const inputs =
          form.inputs.kind === 'file'
            ? { inputsBase64: await readUpload(form.inputs.file), inputsFileName: form.inputs.file.name.slice(0, 256) }
            : { synthetic: form.inputs.synthetic }
        const labels = form.labels === undefined ? {} : { labelsBase64: await readUpload(form.labels) }
        const result = await client.call('models.evaluate', {
          baselineId: form.baselineId,
          candidateId: form.candidateId,
          operationId,
          ...inputs,
          ...labels,
          ...(form.runs === undefined ? {} : { runs: form.runs }),
          ...(form.minAgreement === undefined ? {} : { minAgreement: form.minAgreement }),
          ...(form.maxAccuracyDrop === undefined ? {} : { maxAccuracyDrop: form.maxAccuracyDrop }),
        })
        set({ evaluation: { status: 'done', modelId, result } })
        void get().loadCardView(form.candidateId)
      } catch (error) {
        set({ evaluation: { status: 'failed', modelId, error: toUiError(error) } })
      }
    },

    applyPackagingProgress(event) {
      set((state) => ({ optimization: advance(state.optimization, event), evaluation: advance(state.evaluation, event) }))
    },
  })
