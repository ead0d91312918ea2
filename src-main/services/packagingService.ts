/**
 * Model packaging on stored models: inspect, optimize (the result is imported as a derived model with its card),
 * evaluate a candidate against a baseline (verdict stored, recorded in the candidate's card), read cards.
 * Long operations report progress through `onProgress`, tagged with the caller's operation id.
 */
import type {
  CalibrationMethodName,
  ModelCard,
  ModelCardView,
  ModelEvaluation,
  OptimizationRecipe,
  OptimizeResult,
  PackagingPhase,
  PackagingProgressed,
  SyntheticInputs,
} from '../../src-shared/contract/packagingContract.ts'
import type { ReleaseGate } from '../../src-shared/domain/evaluation.ts'
import type { ModelSummary } from '../../src-shared/domain/model.ts'
import type { ModelInspection } from '../../src-shared/domain/modelInspection.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import { evaluateReleaseReadiness } from '../core/evaluation/releaseReadiness.ts'
import { cardEvaluationOf } from '../core/modelcard/cardEvaluation.ts'
import type { Clock } from '../ports/Clock.ts'
import type { ModelCardStore } from '../ports/ModelCardStore.ts'
import type { ArraySource, ModelPackager } from '../ports/ModelPackager.ts'
import type { ModelRecord, ModelRepository } from '../ports/ModelRepository.ts'
import type { ModelStore } from '../ports/ModelStore.ts'
import type { ModelLabel } from './modelService.ts'

/** Appended to the source model's name to name the derived model. */
export const DERIVED_NAME_SUFFIX: Readonly<Record<OptimizationRecipe, string>> = {
  graph: '-graph',
  fp16: '-fp16',
  'int8-dynamic': '-int8',
  'int8-static': '-int8-static',
}

export interface OptimizeCommand {
  modelId: string
  recipe: OptimizationRecipe
  method?: CalibrationMethodName | undefined
  perChannel?: boolean | undefined
  calibrationUpload?: { bytes: Uint8Array; fileName: string } | undefined
  calibrationFromModelInputs?: SyntheticInputs | undefined
  operationId?: string | undefined
}

export interface EvaluateCommand {
  baselineId: string
  candidateId: string
  inputsUpload?: { bytes: Uint8Array; fileName: string } | undefined
  synthetic?: SyntheticInputs | undefined
  labelsUpload?: { bytes: Uint8Array; fileName: string } | undefined
  runs?: number | undefined
  minAgreement?: number | undefined
  maxAccuracyDrop?: number | undefined
  operationId?: string | undefined
}

export interface PackagingServiceOptions {
  models: ModelRepository
  store: ModelStore
  cards: ModelCardStore
  packager: ModelPackager
  /** Imports the derived model's bytes like an upload (ModelService.importBytes): validated, stored, announced. */
  importModel: (bytes: Uint8Array, fileName: string, label: ModelLabel) => Promise<ModelSummary>
  clock: Clock
  /** Outpost's version, recorded in every card. */
  toolVersion: string
  /** Ids for operations whose caller chose none. */
  createOperationId: () => string
  /** Receives progress; the backend pushes it as `packaging.progressed`. Must not throw. */
  onProgress: (progress: PackagingProgressed) => void
  log: Logger
}

/** Progress finer than this is not worth a message: a 1,000-sample calibration would otherwise send 1,000. */
const PROGRESS_STEP = 0.01

export function createPackagingService(options: PackagingServiceOptions) {
  const { models, store, cards, packager, importModel, clock, toolVersion, createOperationId, onProgress, log } = options

  async function requireModel(modelId: string): Promise<ModelRecord> {
    const model = await models.get(modelId)
    if (!model) throw new AppError('not-found', `No model ${modelId}; import it first (outpost models list shows the ids)`, { modelId })
    return model
  }

  const readBytes = (model: ModelRecord) => store.readRange(model.sha256, 0, model.sizeBytes)
  const nowIso = () => new Date(clock.nowMs()).toISOString()

  /** A monotone, throttled reporter for one operation. */
  function progressReporter(operationId: string, operation: PackagingProgressed['operation'], modelId: string) {
    let lastPhase: PackagingPhase | undefined
    let lastFraction = -1
    return (phase: PackagingPhase, fraction: number) => {
      const clamped = Math.min(1, Math.max(lastFraction, fraction, 0))
      if (phase === lastPhase && clamped - lastFraction < PROGRESS_STEP && clamped < 1) return
      lastPhase = phase
      lastFraction = clamped
      onProgress({ operationId, operation, modelId, phase, fraction: clamped })
    }
  }

  function arraySource(upload: { bytes: Uint8Array; fileName: string } | undefined, synthetic: SyntheticInputs | undefined, what: string): ArraySource | undefined {
    if (upload !== undefined && synthetic !== undefined) {
      throw new AppError('invalid-input', `Give either an uploaded ${what} file or synthetic ${what}, not both`)
    }
    if (upload !== undefined) return { kind: 'upload', ...upload }
    if (synthetic !== undefined) return { kind: 'synthetic', synthetic }
    return undefined
  }

  /** The source's version when the derived name does not have it yet, else the version with a number appended. */
  async function derivedVersion(name: string, sourceVersion: string): Promise<string> {
    const taken = (await models.list()).some((model) => model.name === name && model.version === sourceVersion)
    if (!taken) return sourceVersion
    const suffix = `-${(await models.countByName(name)) + 1}`
    return `${sourceVersion.slice(0, 64 - suffix.length)}${suffix}`
  }

  return {
    /** Throws 'not-found', 'model-invalid'. */
    async inspect(modelId: string): Promise<ModelInspection> {
      const model = await requireModel(modelId)
      return packager.inspect(await readBytes(model), model.sourceFileName)
    },

    /** Throws 'not-found', 'invalid-input', 'model-unsupported', 'model-load-failed', 'inference-failed'. */
    async optimize(command: OptimizeCommand): Promise<OptimizeResult> {
      const source = await requireModel(command.modelId)
      const operationId = command.operationId ?? createOperationId()
      const report = progressReporter(operationId, 'optimize', source.modelId)
      report('loading', 0)
      const calibration = arraySource(command.calibrationUpload, command.calibrationFromModelInputs, 'calibration')
      const name = `${source.name.slice(0, 128 - DERIVED_NAME_SUFFIX[command.recipe].length)}${DERIVED_NAME_SUFFIX[command.recipe]}`
      const outputFileName = `${name}.onnx`
      const startedAt = nowIso()
      const { bytes, card } = await packager.optimize(await readBytes(source), {
        recipe: command.recipe,
        method: command.method,
        perChannel: command.perChannel,
        calibration,
        source: {
          sha256: source.sha256,
          fileName: source.sourceFileName,
          sizeBytes: source.sizeBytes,
          modelId: source.modelId,
          name: source.name,
          version: source.version,
        },
        outputFileName,
        toolVersion,
        createdAt: startedAt,
        onProgress: ({ phase, fraction }) => report(phase, fraction),
      })
      report('storing', 0.95)
      const model = await importModel(bytes, outputFileName, { name, version: await derivedVersion(name, source.version) })
      // Identical bytes made before keep their first card: the lineage of a file does not change.
      const existing = await cards.readCard(model.sha256)
      const storedCard: ModelCard = existing ?? card
      if (existing === undefined) await cards.writeCard(model.sha256, card)
      report('done', 1)
      log.info('Optimized a model', {
        operationId,
        sourceModelId: source.modelId,
        modelId: model.modelId,
        recipe: command.recipe,
        sizeRatio: card.metrics.sizeRatio,
      })
      return { operationId, model, card: storedCard }
    },

    /**
     * Evaluates and stores the verdict as the candidate's latest evaluation (and in its card, when it has one).
     * Not release-ready is a value in the result. Throws 'not-found', 'invalid-input', 'model-load-failed',
     * 'inference-failed'.
     */
    async evaluate(command: EvaluateCommand): Promise<ModelEvaluation> {
      const baseline = await requireModel(command.baselineId)
      const candidate = await requireModel(command.candidateId)
      const operationId = command.operationId ?? createOperationId()
      const inputs = arraySource(command.inputsUpload, command.synthetic, 'inputs')
      if (inputs === undefined) throw new AppError('invalid-input', 'Give the inputs to evaluate on: an .npz/.npy upload or synthetic inputs')
      const report = progressReporter(operationId, 'evaluate', candidate.modelId)
      report('loading', 0)
      const gate: ReleaseGate = {
        ...(command.minAgreement === undefined ? {} : { minAgreement: command.minAgreement }),
        ...(command.maxAccuracyDrop === undefined ? {} : { maxAccuracyDrop: command.maxAccuracyDrop }),
      }
      const { result, inputs: inputsSummary } = await packager.evaluate(await readBytes(baseline), await readBytes(candidate), {
        inputs,
        labels: command.labelsUpload,
        timedRuns: command.runs,
        onProgress: ({ phase, fraction }) => report(phase, fraction),
      })
      const readiness = evaluateReleaseReadiness(result, gate)
      const evaluation: ModelEvaluation = {
        operationId,
        baselineId: baseline.modelId,
        candidateId: candidate.modelId,
        baselineSha256: baseline.sha256,
        candidateSha256: candidate.sha256,
        evaluatedAt: nowIso(),
        inputs: inputsSummary,
        gate,
        result,
        readiness,
      }
      await cards.writeEvaluation(candidate.sha256, evaluation)
      const card = await cards.readCard(candidate.sha256)
      if (card !== undefined) {
        const verdict = cardEvaluationOf({
          evaluatedAt: evaluation.evaluatedAt,
          baselineSha256: baseline.sha256,
          inputsSha256: inputsSummary.sha256,
          gate,
          result,
          readiness,
        })
        await cards.writeCard(candidate.sha256, { ...card, evaluation: verdict })
      }
      report('done', 1)
      log.info('Evaluated a model', {
        operationId,
        baselineModelId: baseline.modelId,
        candidateModelId: candidate.modelId,
        isReleaseReady: readiness.isReleaseReady,
        top1Agreement: result.top1Agreement,
      })
      return evaluation
    },

    /** Throws 'not-found', 'artifact-corrupt'. */
    async card(modelId: string): Promise<ModelCardView> {
      const model = await requireModel(modelId)
      return { modelId: model.modelId, card: (await cards.readCard(model.sha256)) ?? null, lastEvaluation: (await cards.readEvaluation(model.sha256)) ?? null }
    },
  }
}

export type PackagingService = ReturnType<typeof createPackagingService>
