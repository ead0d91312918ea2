/**
 * PackagingService with real adapters on a temp data dir (services may not import adapters, so it is tested here),
 * plus one round trip through createBackend's handlers and the `packaging.progressed` event.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tinyClassifierPath } from '../../fixtures/scripts/generateModels.ts'
import { outpostEvents, outpostMethods, type PackagingProgressed } from '../../src-shared/contract/index.ts'
import { ModelCard } from '../../src-shared/contract/packagingContract.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { createRpcClient } from '../../src-shared/rpc/createRpcClient.ts'
import { memoryTransportPair } from '../../src-shared/rpc/memoryTransport.ts'
import { serveContract } from '../../src-shared/rpc/serveContract.ts'
import { createManualClock } from '../adapters/clock/systemClock.ts'
import { nodeContentHasher } from '../adapters/crypto/nodeContentHasher.ts'
import { createFsModelStore } from '../adapters/fs/fsModelStore.ts'
import { writeNpy } from '../adapters/numpy/npy.ts'
import { writeNpz } from '../adapters/numpy/npz.ts'
import { createOnnxModelInspector } from '../adapters/onnx/onnxModelInspector.ts'
import { createFsModelCardStore } from '../adapters/packaging/fsModelCardStore.ts'
import { createOnnxModelPackager } from '../adapters/packaging/onnxModelPackager.ts'
import { openDatabase, type SqliteDatabase } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteDeviceRepository } from '../adapters/sqlite/sqliteDeviceRepository.ts'
import { createSqliteDirectiveRepository } from '../adapters/sqlite/sqliteDirectiveRepository.ts'
import { createSqliteModelRepository } from '../adapters/sqlite/sqliteModelRepository.ts'
import type { MessageBus } from '../ports/MessageBus.ts'
import { createModelService } from '../services/modelService.ts'
import { createPackagingService } from '../services/packagingService.ts'
import { createBackend, type Backend } from './createBackend.ts'

const idleBus: MessageBus = { publish: async () => {}, subscribe: async () => {}, onMessage: () => () => {}, close: async () => {} }

let dir: string
let db: SqliteDatabase
let setup: ReturnType<typeof build>

function build() {
  const clock = createManualClock(Date.UTC(2025, 0, 1))
  const models = createSqliteModelRepository(db)
  const store = createFsModelStore(join(dir, 'models'))
  const modelService = createModelService({
    models,
    devices: createSqliteDeviceRepository(db),
    directives: createSqliteDirectiveRepository(db),
    store,
    inspector: createOnnxModelInspector(),
    hasher: nodeContentHasher,
    bus: idleBus,
    clock,
    notifier: { deviceChanged: () => {}, modelChanged: () => {} },
    log: silentLogger,
  })
  const progress: PackagingProgressed[] = []
  let nextId = 0
  const packaging = createPackagingService({
    models,
    store,
    cards: createFsModelCardStore(join(dir, 'models')),
    packager: createOnnxModelPackager(),
    importModel: modelService.importBytes,
    clock,
    toolVersion: '9.9.9-test',
    createOperationId: () => `op-${++nextId}`,
    onProgress: (event) => progress.push(event),
    log: silentLogger,
  })
  return { modelService, packaging, progress }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-packaging-'))
  db = openDatabase(join(dir, 'outpost.db'))
  setup = build()
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const importTiny = () => setup.modelService.importFile(tinyClassifierPath, { name: 'tiny', version: '1.0.0' })

/** Seeded uniform features, so failures reproduce. */
function features(rows: number, columns = 16, seed = 1): Float32Array {
  let state = seed
  return Float32Array.from({ length: rows * columns }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return (state / 2 ** 32) * 2 - 1
  })
}

async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`)
  return error
}

describe('PackagingService', () => {
  it('inspects a stored model', async () => {
    const model = await importTiny()
    const inspection = await setup.packaging.inspect(model.modelId)
    expect(inspection.format).toBe('onnx')
    expect(inspection.inputs).toEqual([{ name: 'features', elementType: 'float32', shape: ['batch', 16] }])
    expect(inspection.opHistogram.find((op) => op.opType === 'MatMul')?.count).toBe(2)
    expect(inspection.parametersByDtype[0]?.dtype).toBe('float32')
  })

  it('imports an int8-dynamic result as a derived model with its card and monotone progress', async () => {
    const source = await importTiny()
    const { operationId, model, card } = await setup.packaging.optimize({ modelId: source.modelId, recipe: 'int8-dynamic', operationId: 'ui-7' })
    expect(operationId).toBe('ui-7')
    expect(model).toMatchObject({ name: 'tiny-int8', version: '1.0.0', format: 'onnx' })
    expect(model.sizeBytes).toBeLessThan(source.sizeBytes)
    expect(card.source).toEqual({ sha256: source.sha256, fileName: 'tiny-classifier.onnx', sizeBytes: source.sizeBytes, modelId: source.modelId, name: 'tiny', version: '1.0.0' })
    expect(card.output.sha256).toBe(model.sha256)
    expect(card.tool).toEqual({ name: 'outpost', version: '9.9.9-test' })
    expect(card.report.quantizedNodes.map((node) => node.emitted)).toEqual(['MatMulInteger', 'MatMulInteger'])
    // The card is a side file beside the model, and reads back through models.card.
    const onDisk = ModelCard.parse(JSON.parse(readFileSync(join(dir, 'models', `${model.sha256}.card.json`), 'utf8')))
    expect(onDisk).toEqual(card)
    expect((await setup.packaging.card(model.modelId)).card).toEqual(card)
    expect((await setup.packaging.card(source.modelId)).card).toBeNull()

    const fractions = setup.progress.map((event) => event.fraction)
    expect(setup.progress.every((event) => event.operationId === 'ui-7' && event.operation === 'optimize' && event.modelId === source.modelId)).toBe(true)
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b))
    expect(setup.progress.at(-1)).toMatchObject({ phase: 'done', fraction: 1 })
    expect(setup.progress.map((event) => event.phase)).toContain('verifying')
  })

  it('calibrates int8-static on synthetic inputs reproducibly, and on an uploaded .npz', async () => {
    const source = await importTiny()
    const first = await setup.packaging.optimize({
      modelId: source.modelId,
      recipe: 'int8-static',
      method: 'percentile',
      calibrationFromModelInputs: { count: 24, seed: 5 },
    })
    expect(first.model.name).toBe('tiny-int8-static')
    expect(first.card.options).toEqual({ method: 'percentile', perChannel: false, graphLevel: null })
    expect(first.card.calibration).toMatchObject({ source: 'synthetic', sampleCount: 24, seed: 5, arrays: [{ name: 'features', dtype: 'float32', shape: [24, 16] }] })
    expect(setup.progress.map((event) => event.phase)).toEqual(expect.arrayContaining(['calibration-range', 'calibration-histogram']))

    const again = await setup.packaging.optimize({ modelId: source.modelId, recipe: 'int8-static', method: 'percentile', calibrationFromModelInputs: { count: 24, seed: 5 } })
    expect(again.model.modelId).toBe(first.model.modelId)
    expect(again.card.calibration?.sha256).toBe(first.card.calibration?.sha256)

    const upload = writeNpz({ calibration: { dtype: 'float32', shape: [40, 16], data: features(40) } })
    const uploaded = await setup.packaging.optimize({ modelId: source.modelId, recipe: 'int8-static', calibrationUpload: { bytes: upload, fileName: 'calib.npz' } })
    expect(uploaded.card.calibration).toMatchObject({ source: 'upload', name: 'calib.npz', sampleCount: 40 })
    expect(uploaded.model.version).toBe('1.0.0-2')
  })

  it('refuses bad calibration before storing anything', async () => {
    const source = await importTiny()
    const missing = await rejectionOf(setup.packaging.optimize({ modelId: source.modelId, recipe: 'int8-static' }))
    expect(missing.code).toBe('invalid-input')
    expect(missing.message).toContain('needs a calibration set')

    const wrongShape = writeNpz({ features: { dtype: 'float32', shape: [8, 12], data: new Float32Array(96) } })
    const mismatch = await rejectionOf(
      setup.packaging.optimize({ modelId: source.modelId, recipe: 'int8-static', calibrationUpload: { bytes: wrongShape, fileName: 'wrong.npz' } }),
    )
    expect(mismatch.code).toBe('invalid-input')
    expect(mismatch.message).toContain("does not fit the model input 'features'")

    const forFp16 = await rejectionOf(
      setup.packaging.optimize({ modelId: source.modelId, recipe: 'fp16', calibrationFromModelInputs: { count: 4, seed: 1 } }),
    )
    expect(forFp16.message).toContain('Only the int8-static recipe takes a calibration set')
    expect((await setup.packaging.inspect(source.modelId)).format).toBe('onnx')
    expect(readdirSync(join(dir, 'models'))).toEqual([`${source.sha256}.onnx`])
    expect((await rejectionOf(setup.packaging.inspect('m-000000000000'))).code).toBe('not-found')
  })

  it('evaluates a candidate, stores the verdict and records it in the candidate card', async () => {
    const source = await importTiny()
    const { model: candidate } = await setup.packaging.optimize({ modelId: source.modelId, recipe: 'fp16' })
    const rows = 48
    const labels = BigInt64Array.from({ length: rows }, (_, index) => BigInt(index % 4))
    const evaluation = await setup.packaging.evaluate({
      baselineId: source.modelId,
      candidateId: candidate.modelId,
      inputsUpload: { bytes: writeNpy({ dtype: 'float32', shape: [rows, 16], data: features(rows, 16, 9) }), fileName: 'inputs.npy' },
      labelsUpload: { bytes: writeNpy({ dtype: 'int64', shape: [rows], data: labels }), fileName: 'labels.npy' },
      runs: 3,
      minAgreement: 0.9,
      maxAccuracyDrop: 0.05,
      operationId: 'eval-1',
    })
    expect(evaluation.result.sampleCount).toBe(rows)
    expect(evaluation.result.baseline.latency.runs).toBe(3)
    expect(evaluation.result.accuracy?.labelCount).toBe(rows)
    expect(evaluation.result.top1Agreement).toBeGreaterThanOrEqual(0.9)
    expect(evaluation.readiness).toEqual({ isReleaseReady: true, reasons: [] })
    expect(setup.progress.filter((event) => event.operationId === 'eval-1').at(-1)).toMatchObject({ phase: 'done', fraction: 1, operation: 'evaluate' })

    const view = await setup.packaging.card(candidate.modelId)
    expect(view.lastEvaluation?.operationId).toBe('eval-1')
    expect(view.card?.evaluation).toMatchObject({ isReleaseReady: true, baselineSha256: source.sha256, gate: { minAgreement: 0.9, maxAccuracyDrop: 0.05 } })
  })

  it('reports a candidate that fails the gate as a value with reasons', async () => {
    const source = await importTiny()
    const { model: candidate } = await setup.packaging.optimize({ modelId: source.modelId, recipe: 'int8-dynamic' })
    const evaluation = await setup.packaging.evaluate({
      baselineId: source.modelId,
      candidateId: candidate.modelId,
      synthetic: { count: 32, seed: 2 },
      runs: 2,
      maxAccuracyDrop: 0.01,
    })
    expect(evaluation.inputs).toMatchObject({ source: 'synthetic', sampleCount: 32, seed: 2 })
    expect(evaluation.readiness.isReleaseReady).toBe(false)
    expect(evaluation.readiness.reasons).toEqual([expect.stringContaining('cannot be measured without labels')])
    expect((await setup.packaging.card(candidate.modelId)).card?.evaluation?.isReleaseReady).toBe(false)

    const both = await rejectionOf(
      setup.packaging.evaluate({ baselineId: source.modelId, candidateId: candidate.modelId, synthetic: { count: 2, seed: 1 }, inputsUpload: { bytes: new Uint8Array(1), fileName: 'x.npy' } }),
    )
    expect(both.message).toContain('not both')
  })
})

describe('packaging over the backend contract', () => {
  let backend: Backend | undefined
  afterEach(async () => {
    await backend?.close()
    backend = undefined
  })

  it('optimizes through models.optimize and pushes packaging.progressed for the operation', async () => {
    backend = await createBackend({ dataDir: join(dir, 'backend'), host: 'headless', broker: { kind: 'embedded', host: '127.0.0.1', port: 0 } }, silentLogger)
    const [serverSide, clientSide] = memoryTransportPair()
    serveContract(outpostMethods, backend.handlers, serverSide, silentLogger, { connectionId: 'test' })
    backend.events.attach(serverSide)
    const client = createRpcClient(outpostMethods, outpostEvents, clientSide, { validate: true, callTimeoutMs: 20_000 })
    const pushed: PackagingProgressed[] = []
    client.on('packaging.progressed', (event) => pushed.push(event))

    const source = await client.call('models.importFile', { path: tinyClassifierPath })
    const calibration = Buffer.from(writeNpz({ features: { dtype: 'float32', shape: [16, 16], data: features(16) } })).toString('base64')
    const result = await client.call('models.optimize', {
      modelId: source.modelId,
      recipe: 'int8-static',
      method: 'minmax',
      perChannel: true,
      calibrationUploadBase64: calibration,
      calibrationFileName: 'calib.npz',
      operationId: 'rpc-1',
    })
    expect(result.card.options.perChannel).toBe(true)
    expect(existsSync(join(dir, 'backend', 'models', `${result.model.sha256}.card.json`))).toBe(true)
    expect((await client.call('models.list', {})).map((model) => model.name)).toEqual(['tiny-classifier', 'tiny-classifier-int8-static'])
    expect(pushed.length).toBeGreaterThan(2)
    expect(pushed.every((event) => event.operationId === 'rpc-1')).toBe(true)
    expect(pushed.at(-1)).toMatchObject({ phase: 'done', fraction: 1 })
    expect((await client.call('models.card', { modelId: result.model.modelId })).card?.output.sha256).toBe(result.model.sha256)

    const badBase64 = await client.call('models.optimize', { modelId: source.modelId, recipe: 'int8-static', calibrationUploadBase64: 'not base64!' }).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(badBase64).toBeInstanceOf(AppError)
    expect((badBase64 as AppError).code).toBe('invalid-input')
  })
})
