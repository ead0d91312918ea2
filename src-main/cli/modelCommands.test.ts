/** `outpost model ...` as a user runs it: child processes on local files, no control center anywhere. */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tinyClassifierPath } from '../../fixtures/scripts/generateModels.ts'
import { requireRealModels } from '../../fixtures/scripts/realModels.ts'
import { ModelCard } from '../../src-shared/contract/packagingContract.ts'
import { EvaluationResult, ReleaseReadiness } from '../../src-shared/domain/evaluation.ts'
import { ModelInspection } from '../../src-shared/domain/modelInspection.ts'
import { DataLocation, TensorDataType, encodeOnnx, makeGraph, makeNode, makeTensorValueInfo } from '../adapters/modelformats/onnxCodec.ts'
import { writeNpy } from '../adapters/numpy/npy.ts'
import { writeNpz } from '../adapters/numpy/npz.ts'
import { outputLines, runOutpost, type OutpostRun } from './testing/runOutpost.ts'

let workDir: string
let realModels: Awaited<ReturnType<typeof requireRealModels>>

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'outpost-model-cli-'))
  realModels = await requireRealModels(['ocr-cls'])
}, 240_000)
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

/** Runs `outpost ARGS` to completion (bounded); OUTPOST_URL and the data dir point nowhere, proving no control center is used. */
function outpost(args: string[], timeoutMs = 30_000): Promise<OutpostRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, OUTPOST_DATA_DIR: join(workDir, 'no-data-dir'), OUTPOST_URL: 'http://127.0.0.1:9/#token=x' }
  delete env['OUTPOST_DEBUG']
  return runOutpost(args, { env, cwd: workDir, timeoutMs })
}

const lines = outputLines

/** Seeded features in [-1, 1). */
function features(rows: number, seed: number): Float32Array {
  let state = seed
  return Float32Array.from({ length: rows * 16 }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return (state / 2 ** 32) * 2 - 1
  })
}

function freshDir(name: string): string {
  const dir = join(workDir, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

describe('outpost model: help', () => {
  it('explains the group, each command, and how it differs from `models`', async () => {
    const group = await outpost(['model', '--help'])
    expect(group.exitCode).toBe(0)
    expect(group.stdout).toContain('no control center needed')
    for (const command of ['inspect', 'optimize', 'evaluate', 'compress']) {
      const result = await outpost(['model', command, '--help'])
      expect(result.exitCode).toBe(0)
      expect(result.stdout).toMatch(new RegExp(`^Usage: outpost model ${command} `))
    }
    expect((await outpost(['model', 'evaluate', '--help'])).stdout).toContain('exits 0 whether or not the candidate is release-ready')
    expect((await outpost(['--help'])).stdout).toContain('`model ...` (singular) works on local')
  })
})

describe('outpost model on the fixture model', () => {
  it('inspects as text and JSON', async () => {
    const text = await outpost(['model', 'inspect', tinyClassifierPath])
    expect(text.exitCode).toBe(0)
    expect(text.stdout).toContain('features float32 [batch, 16]')
    expect(text.stdout).toMatch(/MatMul\s+ai\.onnx\s+main\s+2/)
    const json = await outpost(['model', 'inspect', tinyClassifierPath, '--json'])
    const inspection = ModelInspection.parse(JSON.parse(json.stdout))
    expect(inspection.outputs[0]?.name).toBe('probabilities')
    expect(inspection.opsets).toEqual({ '': 13 })
  })

  it('optimizes with int8-dynamic into OUT plus OUT.card.json, leaving the source untouched', async () => {
    const dir = freshDir('dynamic')
    const before = sha256(tinyClassifierPath)
    const result = await outpost(['model', 'optimize', tinyClassifierPath, '--recipe', 'int8-dynamic', '--per-channel', '-o', 'dynamic/tiny-int8.onnx', '--json'])
    expect(result.exitCode).toBe(0)
    const printed = JSON.parse(result.stdout) as { outputPath: string; cardPath: string; card: unknown }
    expect(printed.outputPath).toBe(join(dir, 'tiny-int8.onnx'))
    const card = ModelCard.parse(JSON.parse(readFileSync(join(dir, 'tiny-int8.onnx.card.json'), 'utf8')))
    expect(card).toEqual(printed.card)
    expect(card.source).toMatchObject({ sha256: before, fileName: 'tiny-classifier.onnx', modelId: null })
    expect(card.output.sha256).toBe(sha256(join(dir, 'tiny-int8.onnx')))
    expect(card.options).toEqual({ method: null, perChannel: true, graphLevel: null })
    expect(card.tool.version).toBe((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version)
    expect(card.report.quantizedNodeCount).toBe(2)
    expect(card.metrics.outputSizeBytes).toBeLessThan(card.metrics.sourceSizeBytes)
    expect(sha256(tinyClassifierPath)).toBe(before)
    expect(readdirSync(dir).sort()).toEqual(['tiny-int8.onnx', 'tiny-int8.onnx.card.json'])
  })

  it('calibrates int8-static on a directory, evaluates with labels, exits 0 when not release-ready and records the verdict', async () => {
    const dir = freshDir('static')
    const calibrationDir = join(dir, 'calibration')
    mkdirSync(calibrationDir)
    // One sample per file without the batch axis, plus one file with 8 rows: joined along the first axis.
    for (let index = 0; index < 4; index++) writeFileSync(join(calibrationDir, `sample-${index}.npy`), writeNpy({ dtype: 'float32', shape: [16], data: features(1, index + 1) }))
    writeFileSync(join(calibrationDir, 'batch.npy'), writeNpy({ dtype: 'float32', shape: [8, 16], data: features(8, 99) }))
    const optimized = await outpost(['model', 'optimize', tinyClassifierPath, '--recipe', 'int8-static', '--calibration', calibrationDir, '--method', 'entropy', '-o', join(dir, 'tiny-static.onnx')])
    expect(optimized.exitCode).toBe(0)
    expect(optimized.stdout).toContain('calibration calibration: 12 samples')
    const card = ModelCard.parse(JSON.parse(readFileSync(join(dir, 'tiny-static.onnx.card.json'), 'utf8')))
    expect(card.calibration).toMatchObject({ source: 'directory', sampleCount: 12, arrays: [{ name: 'features', shape: [12, 16] }] })
    expect(card.options.method).toBe('entropy')

    const rows = 64
    writeFileSync(join(dir, 'inputs.npz'), writeNpz({ features: { dtype: 'float32', shape: [rows, 16], data: features(rows, 7) } }))
    writeFileSync(join(dir, 'labels.npy'), writeNpy({ dtype: 'int64', shape: [rows], data: BigInt64Array.from({ length: rows }, (_, index) => BigInt(index % 4)) }))
    const common = ['model', 'evaluate', '--baseline', tinyClassifierPath, '--candidate', join(dir, 'tiny-static.onnx'), '--inputs', join(dir, 'inputs.npz'), '--runs', '5']
    const text = await outpost([...common, '--labels', join(dir, 'labels.npy'), '--min-agreement', '50%'])
    expect(text.exitCode).toBe(0)
    expect(text.stdout).toMatch(/^MODEL\s+FILE\s+SIZE\s+P50 MS\s+P95 MS\s+RUNS/)
    expect(text.stdout).toContain('top-1 agreement')
    expect(text.stdout).toMatch(/accuracy\s+\d+\.\d\d% -> \d+\.\d\d% \(drop -?\d+\.\d\d points, 64 labels\)/)
    expect(text.stdout).toContain('verdict          release-ready')

    const gated = await outpost([...common, '--max-accuracy-drop', '0.01', '--update-card', '--json'])
    expect(gated.exitCode).toBe(0)
    const report = JSON.parse(gated.stdout) as { result: unknown; readiness: unknown; cardPath: string }
    const result = EvaluationResult.parse(report.result)
    expect(result.baseline.latency.runs).toBe(5)
    expect(result.candidate.latency.samplesMs).toHaveLength(5)
    expect(result.outputs[0]?.decisionKind).toBe('argmax')
    const readiness = ReleaseReadiness.parse(report.readiness)
    expect(readiness.isReleaseReady).toBe(false)
    expect(readiness.reasons[0]).toContain('without labels')
    const updated = ModelCard.parse(JSON.parse(readFileSync(report.cardPath, 'utf8')))
    expect(updated.evaluation).toMatchObject({ isReleaseReady: false, baselineSha256: sha256(tinyClassifierPath), gate: { maxAccuracyDrop: 0.01 } })
  })

  it('runs the graph and fp16 recipes and compresses with the ratio', async () => {
    const dir = freshDir('plain')
    for (const recipe of ['graph', 'fp16']) {
      const result = await outpost(['model', 'optimize', tinyClassifierPath, '--recipe', recipe, '-o', join(dir, `${recipe}.onnx`)])
      expect(result.exitCode).toBe(0)
      expect(ModelCard.parse(JSON.parse(readFileSync(join(dir, `${recipe}.onnx.card.json`), 'utf8'))).recipe).toBe(recipe)
    }
    const compressed = await outpost(['model', 'compress', join(dir, 'fp16.onnx'), '--json'])
    expect(compressed.exitCode).toBe(0)
    const summary = JSON.parse(compressed.stdout) as { outputPath: string; ratio: number; compressedSizeBytes: number; algorithm: string }
    expect(summary).toMatchObject({ outputPath: join(dir, 'fp16.onnx.br'), algorithm: 'brotli' })
    expect(summary.ratio).toBeGreaterThan(0)
    expect(summary.ratio).toBeLessThan(1)
    expect(readFileSync(summary.outputPath).length).toBe(summary.compressedSizeBytes)
  })

  it('reads external data next to the model and inlines it in the output', async () => {
    const dir = freshDir('external')
    const model = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        name: 'ext',
        node: [makeNode('Add', ['x', 'w'], ['y'])],
        initializer: [{ name: 'w', dims: [2], dataType: TensorDataType.FLOAT, dataLocation: DataLocation.EXTERNAL, externalData: [{ key: 'location', value: 'w.bin' }] }],
        input: [makeTensorValueInfo('x', TensorDataType.FLOAT, [2])],
        output: [makeTensorValueInfo('y', TensorDataType.FLOAT, [2])],
      }),
    }
    writeFileSync(join(dir, 'ext.onnx'), encodeOnnx(model))
    const missing = await outpost(['model', 'optimize', join(dir, 'ext.onnx'), '--recipe', 'fp16', '-o', join(dir, 'out.onnx')])
    expect(missing.exitCode).toBe(1)
    expect(lines(missing.stderr)).toEqual(['outpost: error [model-invalid] External data file w.bin referenced by tensor w is missing next to the model'])
    expect(readdirSync(dir)).toEqual(['ext.onnx'])

    writeFileSync(join(dir, 'w.bin'), new Uint8Array(new Float32Array([1.5, -2]).buffer))
    const ok = await outpost(['model', 'optimize', join(dir, 'ext.onnx'), '--recipe', 'fp16', '-o', join(dir, 'out.onnx')])
    expect(ok.exitCode).toBe(0)
    const inspected = ModelInspection.parse(JSON.parse((await outpost(['model', 'inspect', join(dir, 'out.onnx'), '--json'])).stdout))
    expect(inspected.externalDataFiles).toEqual([])
  })
})

describe('outpost model: bad input leaves nothing behind', () => {
  it('refuses a truncated model with one line, exit 1, and no output', async () => {
    const dir = freshDir('truncated')
    writeFileSync(join(dir, 'cut.onnx'), readFileSync(tinyClassifierPath).subarray(0, 1000))
    for (const args of [
      ['model', 'optimize', join(dir, 'cut.onnx'), '--recipe', 'int8-dynamic', '-o', join(dir, 'out.onnx')],
      ['model', 'inspect', join(dir, 'cut.onnx')],
    ]) {
      const result = await outpost(args)
      expect(result.exitCode).toBe(1)
      expect(lines(result.stderr)).toHaveLength(1)
      expect(result.stderr).toMatch(/^outpost: error \[model-invalid\] The file is not a readable ONNX model: it ends \(at 1000 bytes\)/)
      expect(result.stdout).toBe('')
    }
    expect(readdirSync(dir)).toEqual(['cut.onnx'])
  })

  it('refuses an unknown recipe as a command-line mistake', async () => {
    const result = await outpost(['model', 'optimize', tinyClassifierPath, '--recipe', 'int4', '-o', join(workDir, 'never.onnx')])
    expect(result.exitCode).toBe(2)
    expect(lines(result.stderr)).toEqual(["outpost: error [invalid-input] Unknown recipe 'int4'; choose one of graph, fp16, int8-dynamic, int8-static"])
    const misplaced = await outpost(['model', 'optimize', tinyClassifierPath, '--recipe', 'fp16', '--method', 'entropy', '-o', join(workDir, 'never.onnx')])
    expect(misplaced.exitCode).toBe(2)
    expect(misplaced.stderr).toContain('Only the int8-static recipe takes a calibration method')
    expect(existsSync(join(workDir, 'never.onnx'))).toBe(false)
  })

  it('refuses a calibration set whose shapes do not match the model, with one line and no output', async () => {
    const dir = freshDir('mismatch')
    writeFileSync(join(dir, 'calibration.npy'), writeNpy({ dtype: 'float32', shape: [10, 12], data: new Float32Array(120) }))
    const result = await outpost(['model', 'optimize', tinyClassifierPath, '--recipe', 'int8-static', '--calibration', join(dir, 'calibration.npy'), '-o', join(dir, 'out.onnx')])
    expect(result.exitCode).toBe(1)
    expect(lines(result.stderr)).toEqual([
      "outpost: error [invalid-input] The calibration set calibration.npy: the array 'features' [10, 12] does not fit the model input 'features' [batch, 16]: the dimensions after the first differ.",
    ])
    expect(readdirSync(dir)).toEqual(['calibration.npy'])
  })

  it('refuses to write over the source', async () => {
    const dir = freshDir('same')
    writeFileSync(join(dir, 'model.onnx'), readFileSync(tinyClassifierPath))
    const result = await outpost(['model', 'optimize', join(dir, 'model.onnx'), '--recipe', 'fp16', '-o', join(dir, 'model.onnx')])
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain('[invalid-input] The output path is the source model itself')
    expect(sha256(join(dir, 'model.onnx'))).toBe(sha256(tinyClassifierPath))
  })
})

describe('outpost model on a real model (PaddleOCR direction classifier)', () => {
  it('inspects it and quantizes it with int8-dynamic to well under half its size', async () => {
    const dir = freshDir('real')
    const inspection = ModelInspection.parse(JSON.parse((await outpost(['model', 'inspect', realModels['ocr-cls'], '--json'])).stdout))
    expect(inspection.inputs[0]).toMatchObject({ name: 'x', elementType: 'float32' })
    expect(inspection.opsets['']).toBe(9)
    expect(inspection.opHistogram.some((op) => op.opType === 'Conv')).toBe(true)

    const result = await outpost(['model', 'optimize', realModels['ocr-cls'], '--recipe', 'int8-dynamic', '-o', join(dir, 'cls-int8.onnx'), '--json'], 60_000)
    expect(result.exitCode).toBe(0)
    const { card } = JSON.parse(result.stdout) as { card: unknown }
    const parsed = ModelCard.parse(card)
    expect(parsed.metrics.sizeRatio).toBeLessThan(0.5)
    expect(parsed.report.quantizedNodes.some((node) => node.emitted === 'ConvInteger')).toBe(true)
    process.stdout.write(`ocr-cls int8-dynamic via CLI: size ${parsed.metrics.sizeRatio.toFixed(3)}x, ${parsed.report.quantizedNodeCount} nodes quantized\n`)
  })
})
