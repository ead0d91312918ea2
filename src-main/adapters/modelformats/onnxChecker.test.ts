/**
 * Every model this library emits must pass the reference checker: onnx.checker.check_model(full_check=True) from
 * Debian's python3-onnx (1.12, which knows IR <= 8 and opsets <= 17, the versions our real models use).
 * Run once, over all emitted files, in one Python process.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tinyClassifierPath } from '../../../fixtures/scripts/generateModels.ts'
import { requireRealModels, type RealModelName } from '../../../fixtures/scripts/realModels.ts'
import { convertToFloat16 } from '../../core/packaging/convertToFloat16.ts'
import { convertFileToFloat16 } from './convertFileToFloat16.ts'
import { decodeOnnx, encodeOnnx } from './onnxCodec.ts'
import { optimizeGraphFile } from './optimizeGraph.ts'
import { buildControlFlowModel } from './testModels.ts'

const PYTHON = '/usr/bin/python3'
const CHECKER = `
import json, sys
import onnx
results = {}
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        results[path] = 'ok'
    except Exception as error:
        results[path] = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
print(json.dumps(results))
`

function runChecker(paths: string[]): Record<string, string> {
  try {
    execFileSync(PYTHON, ['-c', 'import onnx'], { stdio: 'pipe' })
  } catch {
    throw new Error(`${PYTHON} cannot import onnx: install the Debian package python3-onnx (apt-get install python3-onnx)`)
  }
  return JSON.parse(execFileSync(PYTHON, ['-c', CHECKER, ...paths], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 120_000 })) as Record<string, string>
}

let dir = ''
let realModels: Record<RealModelName, string>
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-checker-'))
  realModels = await requireRealModels()
}, 240_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('onnx.checker.check_model(full_check=True) on every emitted model', () => {
  it('accepts re-encoded, fp16-converted and graph-optimized models', { timeout: 180_000 }, async () => {
    const emitted: string[] = []
    const write = (name: string, bytes: Uint8Array): void => {
      const path = join(dir, name)
      writeFileSync(path, bytes)
      emitted.push(path)
    }
    const sources = { fixture: tinyClassifierPath, 'ocr-cls': realModels['ocr-cls'], 'ocr-det': realModels['ocr-det'], 'silero-vad': realModels['silero-vad'] }
    for (const [name, path] of Object.entries(sources)) {
      write(`${name}.reencoded.onnx`, encodeOnnx(decodeOnnx(readFileSync(path))))
      const out = join(dir, `${name}.fp16.onnx`)
      await convertFileToFloat16(path, out)
      emitted.push(out)
    }
    write('control-flow.onnx', encodeOnnx(buildControlFlowModel()))
    write('control-flow.fp16.onnx', encodeOnnx(convertToFloat16(buildControlFlowModel()).model))
    write('control-flow.loop-fp32.fp16.onnx', encodeOnnx(convertToFloat16(buildControlFlowModel(), { nodeBlockList: ['loop'] }).model))
    const optimized = join(dir, 'ocr-cls.graph.onnx')
    await optimizeGraphFile(realModels['ocr-cls'], optimized)
    emitted.push(optimized)

    const results = runChecker(emitted)
    const failures = Object.entries(results).filter(([, result]) => result !== 'ok')
    expect(failures).toEqual([])
    expect(Object.keys(results)).toHaveLength(emitted.length)
  })

  it('rejects a broken model, so a passing check means something', () => {
    const model = buildControlFlowModel()
    model.graph?.node.push({ input: ['nowhere'], output: ['final'], opType: 'Relu', attribute: [] })
    const path = join(dir, 'broken.onnx')
    writeFileSync(path, encodeOnnx(model))
    expect(runChecker([path])[path]).not.toBe('ok')
  })
})
