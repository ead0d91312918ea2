/**
 * Test support for the quantization and evaluation tests: deterministic models built in memory (a MatMul-heavy
 * classifier of 4.2 M parameters with MatMul and Gemm layers, a small Conv net, a model working inside If branches,
 * an LSTM), the onnx checker from python3-onnx, and onnxruntime's optimized graph. Weights come from a seeded PRNG
 * so every run sees the same bytes.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { seededRandom } from '../../../fixtures/scripts/tinyClassifier.ts'
import { type OnnxModel, type OnnxNode, attr, makeGraph, makeNode, makeTensorValueInfo } from '../../core/packaging/onnxModel.ts'
import { TensorDataType, float32Tensor } from '../../core/packaging/tensorData.ts'
import { decodeOnnx } from '../modelformats/onnxCodec.ts'
import type { NdArray } from '../numpy/npy.ts'

export function uniformValues(count: number, scale: number, random: () => number): Float32Array {
  const values = new Float32Array(count)
  for (let index = 0; index < count; index++) values[index] = (random() * 2 - 1) * scale
  return values
}

/** He-uniform weights keep ReLU activations at a steady scale from layer to layer. */
function heUniform(name: string, dims: number[], fanIn: number, random: () => number) {
  return float32Tensor(name, dims, uniformValues(dims.reduce((a, b) => a * b, 1), Math.sqrt(6 / fanIn), random))
}

function opset(version: number) {
  return [{ domain: '', version }]
}

export const MLP = { inputName: 'features', outputName: 'logits', width: 1024, classCount: 10, hiddenLayers: 4 } as const

/**
 * features [N, 1024] → 4 × (1024×1024 linear + ReLU; layer 2 is a Gemm with transB=1) → 1024×10 → logits [N, 10].
 * 4,208,650 parameters.
 */
export function buildMatMulHeavyModel(seed = 7): OnnxModel {
  const random = seededRandom(seed)
  const { inputName, outputName, width, classCount, hiddenLayers } = MLP
  const nodes: OnnxNode[] = []
  const initializers = []
  let current: string = inputName
  for (let layer = 1; layer <= hiddenLayers; layer++) {
    const weight = `w${layer}`
    const bias = `b${layer}`
    initializers.push(heUniform(weight, [width, width], width, random), float32Tensor(bias, [width], uniformValues(width, 0.05, random)))
    const preActivation = `h${layer}_linear`
    if (layer === 2) {
      nodes.push(makeNode('Gemm', [current, weight, bias], [preActivation], { name: `gemm${layer}`, attribute: [attr.int('transB', 1)] }))
    } else {
      nodes.push(makeNode('MatMul', [current, weight], [`h${layer}_matmul`], { name: `matmul${layer}` }))
      nodes.push(makeNode('Add', [`h${layer}_matmul`, bias], [preActivation], { name: `add${layer}` }))
    }
    nodes.push(makeNode('Relu', [preActivation], [`h${layer}`], { name: `relu${layer}` }))
    current = `h${layer}`
  }
  initializers.push(heUniform('w_head', [width, classCount], width, random), float32Tensor('b_head', [classCount], uniformValues(classCount, 0.05, random)))
  nodes.push(makeNode('MatMul', [current, 'w_head'], ['head_matmul'], { name: 'matmul_head' }))
  nodes.push(makeNode('Add', ['head_matmul', 'b_head'], [outputName], { name: 'add_head' }))
  return {
    irVersion: 8,
    opsetImport: opset(13),
    producerName: 'outpost-tests',
    graph: makeGraph({
      name: 'matmul_heavy',
      node: nodes,
      initializer: initializers,
      input: [makeTensorValueInfo(inputName, TensorDataType.FLOAT, ['batch', width])],
      output: [makeTensorValueInfo(outputName, TensorDataType.FLOAT, ['batch', classCount])],
    }),
  }
}

/**
 * image [N, 3, 16, 16] → Conv 3→16 (3×3, pad 1) + ReLU → Conv 16→32 (3×3, stride 2) + ReLU → GlobalAveragePool →
 * Flatten → Gemm 32→4 → Softmax → probabilities [N, 4].
 */
export function buildConvModel(seed = 11, opsetVersion = 13): OnnxModel {
  const random = seededRandom(seed)
  const initializers = [
    heUniform('conv1_w', [16, 3, 3, 3], 27, random),
    float32Tensor('conv1_b', [16], uniformValues(16, 0.1, random)),
    heUniform('conv2_w', [32, 16, 3, 3], 144, random),
    float32Tensor('conv2_b', [32], uniformValues(32, 0.1, random)),
    heUniform('fc_w', [32, 4], 32, random),
    float32Tensor('fc_b', [4], uniformValues(4, 0.1, random)),
  ]
  const nodes = [
    makeNode('Conv', ['image', 'conv1_w', 'conv1_b'], ['c1'], { name: 'conv1', attribute: [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])] }),
    makeNode('Relu', ['c1'], ['r1'], { name: 'relu1' }),
    makeNode('Conv', ['r1', 'conv2_w', 'conv2_b'], ['c2'], { name: 'conv2', attribute: [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2])] }),
    makeNode('Relu', ['c2'], ['r2'], { name: 'relu2' }),
    makeNode('GlobalAveragePool', ['r2'], ['pooled'], { name: 'pool' }),
    makeNode('Flatten', ['pooled'], ['flat'], { name: 'flatten' }),
    makeNode('Gemm', ['flat', 'fc_w', 'fc_b'], ['logits'], { name: 'fc' }),
    makeNode('Softmax', ['logits'], ['probabilities'], { name: 'softmax', attribute: [attr.int('axis', -1)] }),
  ]
  return {
    irVersion: 8,
    opsetImport: opset(opsetVersion),
    producerName: 'outpost-tests',
    graph: makeGraph({
      name: 'conv_net',
      node: nodes,
      initializer: initializers,
      input: [makeTensorValueInfo('image', TensorDataType.FLOAT, ['batch', 3, 16, 16])],
      output: [makeTensorValueInfo('probabilities', TensorDataType.FLOAT, ['batch', 4])],
    }),
  }
}

/**
 * x [N, 64], use_wide (bool scalar) → If: then = MatMul(x, w_shared) → MatMul(·, w_then) (w_then is the branch's own
 * initializer); else = MatMul(x, w_shared) → Relu. w_shared lives in the main graph and is read by both branches and
 * by a main-graph MatMul, so it must be quantized once. Output y [N, 32] = If result + main-graph branch-free MatMul.
 */
export function buildIfModel(seed = 5): OnnxModel {
  const random = seededRandom(seed)
  const thenBranch = makeGraph({
    name: 'then_branch',
    node: [
      makeNode('MatMul', ['x', 'w_shared'], ['then_hidden'], { name: 'then_matmul1' }),
      makeNode('MatMul', ['then_hidden', 'w_then'], ['then_out'], { name: 'then_matmul2' }),
    ],
    initializer: [heUniform('w_then', [32, 32], 32, random)],
    output: [makeTensorValueInfo('then_out', TensorDataType.FLOAT, ['batch', 32])],
  })
  const elseBranch = makeGraph({
    name: 'else_branch',
    node: [makeNode('MatMul', ['x', 'w_shared'], ['else_hidden'], { name: 'else_matmul' }), makeNode('Relu', ['else_hidden'], ['else_out'], { name: 'else_relu' })],
    output: [makeTensorValueInfo('else_out', TensorDataType.FLOAT, ['batch', 32])],
  })
  return {
    irVersion: 8,
    opsetImport: opset(13),
    producerName: 'outpost-tests',
    graph: makeGraph({
      name: 'if_model',
      node: [
        makeNode('If', ['use_wide'], ['branch_out'], { name: 'choose', attribute: [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)] }),
        makeNode('MatMul', ['x', 'w_shared'], ['direct'], { name: 'main_matmul' }),
        makeNode('Add', ['branch_out', 'direct'], ['y'], { name: 'sum' }),
      ],
      initializer: [heUniform('w_shared', [64, 32], 64, random)],
      input: [makeTensorValueInfo('x', TensorDataType.FLOAT, ['batch', 64]), makeTensorValueInfo('use_wide', TensorDataType.BOOL, [])],
      output: [makeTensorValueInfo('y', TensorDataType.FLOAT, ['batch', 32])],
    }),
  }
}

/** x [T, N, 16] → LSTM (hidden 32, forward) → y_h [1, N, 32]; the recurrent model Silero-style VADs are built on. */
export function buildLstmModel(seed = 13): OnnxModel {
  const random = seededRandom(seed)
  const hidden = 32
  const inputSize = 16
  return {
    irVersion: 8,
    opsetImport: opset(14),
    producerName: 'outpost-tests',
    graph: makeGraph({
      name: 'lstm_model',
      node: [makeNode('LSTM', ['x', 'lstm_w', 'lstm_r', 'lstm_b'], ['y', 'y_h'], { name: 'lstm', attribute: [attr.int('hidden_size', hidden)] })],
      initializer: [
        float32Tensor('lstm_w', [1, 4 * hidden, inputSize], uniformValues(4 * hidden * inputSize, 0.4, random)),
        float32Tensor('lstm_r', [1, 4 * hidden, hidden], uniformValues(4 * hidden * hidden, 0.3, random)),
        float32Tensor('lstm_b', [1, 8 * hidden], uniformValues(8 * hidden, 0.1, random)),
      ],
      input: [makeTensorValueInfo('x', TensorDataType.FLOAT, ['time', 'batch', inputSize])],
      output: [makeTensorValueInfo('y_h', TensorDataType.FLOAT, [1, 'batch', hidden])],
    }),
  }
}

/**
 * Runs onnx.checker.check_model(full_check=True) from Debian's python3-onnx on each file, in one interpreter.
 * Returns file → null (passed) or the checker's message; undefined when python3 cannot import onnx.
 */
export function runOnnxChecker(paths: readonly string[]): Record<string, string | null> | undefined {
  const script = [
    'import json, sys',
    'try:',
    '    import onnx',
    'except ImportError:',
    '    print("null"); sys.exit(0)',
    'out = {}',
    'for path in sys.argv[1:]:',
    '    try:',
    '        onnx.checker.check_model(onnx.load(path), full_check=True); out[path] = None',
    '    except Exception as error:',
    '        out[path] = str(error)[:2000]',
    'print(json.dumps(out))',
  ].join('\n')
  let stdout: string
  try {
    stdout = execFileSync('/usr/bin/python3', ['-c', script, ...paths], { encoding: 'utf8', timeout: 60_000 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  return (JSON.parse(stdout) as Record<string, string | null> | null) ?? undefined
}

/** Operator counts of the graph onnxruntime actually runs (after its fusions), read back from optimizedModelFilePath. */
export async function optimizedOpCounts(modelBytes: Uint8Array, workDir: string): Promise<Record<string, number>> {
  const path = join(workDir, `optimized-${process.pid}-${Date.now()}.onnx`)
  const session = await ort.InferenceSession.create(modelBytes, { optimizedModelFilePath: path, logSeverityLevel: 3 })
  await session.release()
  const counts: Record<string, number> = {}
  for (const node of decodeOnnx(readFileSync(path)).graph?.node ?? []) counts[node.opType ?? ''] = (counts[node.opType ?? ''] ?? 0) + 1
  return counts
}

/**
 * Seeded speech-like audio at 16 kHz: 1.5 s of voiced syllables (a glottal harmonic series shaped by vowel formants,
 * four syllables a second) then 1 s of faint noise, repeated. Not speech, but Silero VAD scores it as speech on the
 * voiced parts, which is what comparing int8 and fp32 decisions needs.
 */
export function synthesizeSpeechLikeAudio(seconds: number, seed: number, sampleRate = 16_000): Float32Array {
  const random = seededRandom(seed)
  const audio = new Float32Array(Math.round(sampleRate * seconds))
  const vowels = [
    [730, 1090, 2440],
    [270, 2290, 3010],
    [300, 870, 2240],
    [530, 1840, 2480],
    [660, 1720, 2410],
  ]
  let phase = 0
  for (let index = 0; index < audio.length; index++) {
    const time = index / sampleRate
    let sample = (random() * 2 - 1) * 0.002
    if (time % 2.5 < 1.5) {
      const syllable = Math.floor(time * 4)
      const formants = vowels[syllable % vowels.length] ?? [500, 1500, 2500]
      const envelope = Math.sqrt(Math.sin(Math.PI * ((time * 4) % 1)))
      const pitch = 110 + 25 * Math.sin(2 * Math.PI * 0.7 * time) + (syllable % 3) * 10
      phase += pitch / sampleRate
      let voiced = 0
      for (let harmonic = 1; harmonic * pitch < 4000; harmonic++) {
        const frequency = harmonic * pitch
        const gain = formants.reduce((sum, formant, rank) => sum + Math.exp(-((frequency - formant) ** 2) / (2 * (80 + 40 * rank) ** 2)) / (rank + 1), 0)
        voiced += (gain * Math.sin(2 * Math.PI * harmonic * phase)) / Math.sqrt(harmonic)
      }
      sample += 0.15 * envelope * voiced
    }
    audio[index] = sample
  }
  return audio
}

/**
 * Renders text lines with ImageMagick as PaddleOCR's direction classifier expects them: 48×192, 3 channels,
 * normalized to [-1, 1]; each line twice, upright (label 0) and rotated 180° (label 1).
 */
export function renderTextLines(texts: readonly string[]): { images: NdArray; labels: NdArray } {
  const width = 192
  const height = 48
  const args = ['-background', 'white', '-fill', 'black', '-font', 'DejaVu-Sans']
  for (const text of texts) args.push('(', '-size', `${width}x${height}`, '-gravity', 'center', `label:${text}`, ')')
  args.push('-append', '-depth', '8', 'gray:-')
  let pixels: Buffer
  try {
    pixels = execFileSync('convert', args, { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 })
  } catch (error) {
    throw new Error(`Rendering text lines needs ImageMagick's convert (Debian package imagemagick): ${(error as Error).message}`, { cause: error })
  }
  const plane = width * height
  const count = texts.length * 2
  const data = new Float32Array(count * 3 * plane)
  const labels = new BigInt64Array(count)
  for (let line = 0; line < texts.length; line++) {
    for (const rotated of [0, 1]) {
      const sample = line * 2 + rotated
      labels[sample] = BigInt(rotated)
      for (let pixel = 0; pixel < plane; pixel++) {
        // Rotating by 180° reverses the pixel order of the line.
        const value = (pixels[line * plane + (rotated ? plane - 1 - pixel : pixel)] ?? 255) / 127.5 - 1
        for (let channel = 0; channel < 3; channel++) data[(sample * 3 + channel) * plane + pixel] = value
      }
    }
  }
  return { images: { dtype: 'float32', shape: [count, 3, height, width], data }, labels: { dtype: 'int64', shape: [count], data: labels } }
}
