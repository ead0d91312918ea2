/**
 * Small ONNX models built in memory for the packaging tests: control flow (If branches, a Loop with a carried
 * float state and outer-scope reads), a blocked op inside a branch, Cast from integers, large and tiny constants.
 * Shared by the fp16, inspection and checker tests; kept beside them because tests are their only users.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  TensorDataType,
  attr,
  float32Tensor,
  int64Tensor,
  makeGraph,
  makeNode,
  makeTensorValueInfo,
  type OnnxModel,
} from './onnxCodec.ts'

const FLOAT = TensorDataType.FLOAT

/**
 * Inputs: x float[4], flag bool[], counts int64[4]. then: TopK(Mul(x, w_then), k=4) values; else: Add(x, w_outer).
 * A Loop runs 3 times over s = s + s * c_outer (c_outer read from the main graph), scanning out every s.
 * Outputs: final float[4], history float[3,4], indices int64[4] from TopK.
 */
export function buildControlFlowModel(): OnnxModel {
  const thenBranch = makeGraph({
    name: 'then_branch',
    node: [
      makeNode('Mul', ['x_plus', 'w_then'], ['then_scaled'], { name: 'then_mul' }),
      makeNode('TopK', ['then_scaled', 'k'], ['then_out', 'then_idx'], { name: 'then_topk' }),
    ],
    initializer: [float32Tensor('w_then', [4], [0.5, -1.25, 2, 3.5]), int64Tensor('k', [1], [4])],
    output: [makeTensorValueInfo('then_out', FLOAT, [4]), makeTensorValueInfo('then_idx', TensorDataType.INT64, [4])],
  })
  const elseBranch = makeGraph({
    name: 'else_branch',
    node: [
      makeNode('Add', ['x_plus', 'w_outer'], ['else_out'], { name: 'else_add' }),
      makeNode('Shape', ['else_out'], ['else_idx'], { name: 'else_shape' }),
      makeNode('Expand', ['zero_idx', 'else_idx'], ['else_idx4'], { name: 'else_expand' }),
    ],
    initializer: [int64Tensor('zero_idx', [1], [0])],
    output: [makeTensorValueInfo('else_out', FLOAT, [4]), makeTensorValueInfo('else_idx4', TensorDataType.INT64, [4])],
  })
  const body = makeGraph({
    name: 'loop_body',
    input: [makeTensorValueInfo('iter', TensorDataType.INT64, []), makeTensorValueInfo('cond_in', TensorDataType.BOOL, []), makeTensorValueInfo('s', FLOAT, [4])],
    node: [
      makeNode('Mul', ['s', 'c_outer'], ['s_scaled'], { name: 'body_mul' }),
      makeNode('Add', ['s', 's_scaled'], ['s_next'], { name: 'body_add' }),
      makeNode('Identity', ['cond_in'], ['cond_out'], { name: 'body_cond' }),
      makeNode('Identity', ['s_next'], ['s_scan'], { name: 'body_scan' }),
    ],
    output: [makeTensorValueInfo('cond_out', TensorDataType.BOOL, []), makeTensorValueInfo('s_next', FLOAT, [4]), makeTensorValueInfo('s_scan', FLOAT, [4])],
  })
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'outpost-tests',
    graph: makeGraph({
      name: 'control_flow',
      input: [
        makeTensorValueInfo('x', FLOAT, [4]),
        makeTensorValueInfo('flag', TensorDataType.BOOL, []),
        makeTensorValueInfo('counts', TensorDataType.INT64, [4]),
      ],
      initializer: [
        float32Tensor('w_outer', [4], [1, 2, 3, 4]),
        float32Tensor('c_outer', [4], [0.1, -0.2, 0.05, 0.3]),
        int64Tensor('trip_count', [], [3]),
        { name: 'loop_cond', dims: [], dataType: TensorDataType.BOOL, rawData: new Uint8Array([1]) },
      ],
      node: [
        makeNode('Cast', ['counts'], ['counts_f'], { name: 'cast_counts', attribute: [attr.int('to', FLOAT)] }),
        makeNode('Add', ['x', 'counts_f'], ['x_plus'], { name: 'add_counts' }),
        makeNode('If', ['flag'], ['branch_out', 'branch_idx'], { name: 'branch', attribute: [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)] }),
        makeNode('Loop', ['trip_count', 'loop_cond', 'branch_out'], ['final', 'history'], { name: 'loop', attribute: [attr.graph('body', body)] }),
      ],
      output: [
        makeTensorValueInfo('final', FLOAT, [4]),
        makeTensorValueInfo('history', FLOAT, [3, 4]),
        makeTensorValueInfo('branch_idx', TensorDataType.INT64, [4]),
      ],
      valueInfo: [makeTensorValueInfo('x_plus', FLOAT, [4]), makeTensorValueInfo('branch_out', FLOAT, [4])],
    }),
  }
}

/** y = Mul(Add(x, big), tiny): big holds values beyond the float16 range, tiny values below its smallest subnormal. */
export function buildExtremeConstantsModel(): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: makeGraph({
      name: 'extremes',
      input: [makeTensorValueInfo('x', FLOAT, [3])],
      initializer: [float32Tensor('big', [3], [1e6, -7e4, 1]), float32Tensor('tiny', [3], [1e-10, -1e-9, 0])],
      node: [makeNode('Add', ['x', 'big'], ['sum'], { name: 'add' }), makeNode('Mul', ['sum', 'tiny'], ['y'], { name: 'mul' })],
      output: [makeTensorValueInfo('y', FLOAT, [3])],
    }),
  }
}

/** Reads 16-bit PCM mono WAV samples as floats in [-1, 1). */
function readWavPcm16(bytes: Buffer): { sampleRate: number; samples: Float32Array } {
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file')
  let offset = 12
  let sampleRate = 0
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4)
    const size = bytes.readUInt32LE(offset + 4)
    if (id === 'fmt ') sampleRate = bytes.readUInt32LE(offset + 12)
    if (id === 'data') {
      const count = Math.floor(Math.min(size, bytes.length - offset - 8) / 2)
      return { sampleRate, samples: Float32Array.from({ length: count }, (_, i) => bytes.readInt16LE(offset + 8 + 2 * i) / 32768) }
    }
    offset += 8 + size + (size % 2)
  }
  throw new Error('WAV file has no data chunk')
}

/**
 * Real speech for VAD tests: a sentence spoken by espeak-ng (Debian package espeak-ng), resampled linearly to
 * `sampleRate`, with half a second of silence before and after. Throws, naming the package, when it is missing.
 */
export function spokenSentence(sampleRate: number): Float32Array {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-speech-'))
  try {
    const wav = join(dir, 'speech.wav')
    try {
      execFileSync('espeak-ng', ['-v', 'en', '-s', '150', '-w', wav, 'Outpost delivers models to every device in the fleet. Speech detection must agree with the original model.'], { stdio: 'ignore', timeout: 60_000 })
    } catch (error) {
      throw new Error(`espeak-ng is needed to speak the VAD test input (apt-get install espeak-ng): ${(error as Error).message}`, { cause: error })
    }
    const { sampleRate: sourceRate, samples } = readWavPcm16(readFileSync(wav))
    const length = Math.floor((samples.length * sampleRate) / sourceRate)
    const padding = Math.floor(sampleRate / 2)
    const out = new Float32Array(length + 2 * padding)
    for (let i = 0; i < length; i++) {
      const position = (i * sourceRate) / sampleRate
      const k = Math.floor(position)
      const fraction = position - k
      out[padding + i] = (samples[k] ?? 0) * (1 - fraction) + (samples[k + 1] ?? 0) * fraction
    }
    return out
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
