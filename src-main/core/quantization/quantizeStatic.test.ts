import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { type OnnxGraph, type OnnxModel, type OnnxNode, attr, findAttribute, makeGraph, makeNode, makeTensorValueInfo } from '../packaging/onnxModel.ts'
import { TensorDataType, float32Tensor, readTensorAsFloat32, readTensorAsNumbers } from '../packaging/tensorData.ts'
import type { TensorRange } from './calibration.ts'
import { exposeTensorsAsOutputs } from './calibrationModel.ts'
import { foldBatchNormalization } from './foldBatchNorm.ts'
import { planStaticQuantization, quantizeStatic } from './quantizeStatic.ts'

const FLOAT = TensorDataType.FLOAT

/** x [N, 2, 3, 3] → Conv(w [2, 2, 1, 1], b [2]) → Relu → y. */
function convReluModel(opset = 13): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: makeGraph({
      node: [
        makeNode('Conv', ['x', 'w', 'b'], ['c'], { name: 'conv', attribute: [attr.ints('kernel_shape', [1, 1])] }),
        makeNode('Relu', ['c'], ['y'], { name: 'relu' }),
      ],
      initializer: [float32Tensor('w', [2, 2, 1, 1], [1.27, -0.635, 0.1, 0.05]), float32Tensor('b', [2], [0.5, -0.25])],
      input: [makeTensorValueInfo('x', FLOAT, ['n', 2, 3, 3])],
      output: [makeTensorValueInfo('y', FLOAT, ['n', 2, 3, 3])],
    }),
  }
}

/** Relu output consumed by a MatMul, so the Relu is not a graph output and can be absorbed. */
function convReluMatMulModel(): OnnxModel {
  const base = convReluModel()
  const graph = base.graph as OnnxGraph
  graph.node.push(makeNode('Flatten', ['y'], ['flat'], { name: 'flatten' }), makeNode('MatMul', ['flat', 'head'], ['logits'], { name: 'head_mm' }))
  graph.initializer.push(float32Tensor('head', [18, 2], Array.from({ length: 36 }, (_, index) => (index % 5) - 2)))
  graph.output = [makeTensorValueInfo('logits', FLOAT, ['n', 2])]
  return base
}

function initializer(graph: OnnxGraph, name: string) {
  const tensor = graph.initializer.find((candidate) => candidate.name === name)
  if (tensor === undefined) throw new Error(`no initializer ${name}`)
  return tensor
}

function producer(graph: OnnxGraph, name: string): OnnxNode | undefined {
  return graph.node.find((node) => node.output.includes(name))
}

const ranges = new Map<string, TensorRange>([
  ['x', { min: -1, max: 3 }],
  ['c', { min: -2, max: 2 }],
  ['y', { min: 0, max: 2.55 }],
  ['flat', { min: 0, max: 2.55 }],
  ['logits', { min: -10, max: 10 }],
])

describe('planStaticQuantization', () => {
  it('lists the activations read and written by quantized nodes, preferring a Relu output it can absorb', () => {
    expect(planStaticQuantization(convReluModel()).tensorsToCalibrate).toEqual(['x', 'c'])
    expect(planStaticQuantization(convReluMatMulModel()).tensorsToCalibrate).toEqual(['x', 'y', 'flat', 'logits'])
  })

  it('refuses per-channel below opset 13 with a sentence naming both opsets', () => {
    try {
      planStaticQuantization(convReluModel(11), { perChannel: true })
      throw new Error('expected a refusal')
    } catch (error) {
      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('model-unsupported')
      expect((error as AppError).message).toMatch(/needs opset 13 or later.*uses opset 11/)
    }
  })
})

describe('quantizeStatic', () => {
  it('wraps activations in QuantizeLinear → DequantizeLinear with uint8 scale and zero point from the range', () => {
    const { model } = quantizeStatic(convReluModel(), ranges)
    const graph = model.graph as OnnxGraph
    const conv = graph.node.find((node) => node.opType === 'Conv') as OnnxNode
    const dequantize = producer(graph, conv.input[0] ?? '') as OnnxNode
    expect(dequantize.opType).toBe('DequantizeLinear')
    const quantize = producer(graph, dequantize.input[0] ?? '') as OnnxNode
    expect(quantize.opType).toBe('QuantizeLinear')
    expect(quantize.input[0]).toBe('x')
    // [-1, 3] → scale 4/255, zero point round(255/4) = 64.
    expect(readTensorAsFloat32(initializer(graph, quantize.input[1] ?? ''))[0]).toBe(Math.fround(4 / 255))
    const zeroPoint = initializer(graph, quantize.input[2] ?? '')
    expect(zeroPoint.dataType).toBe(TensorDataType.UINT8)
    expect(readTensorAsNumbers(zeroPoint)).toEqual([64])
    // The Conv output (not a graph output here) is quantized too, so onnxruntime sees DQ → Conv → Q.
    expect(graph.node.find((node) => node.opType === 'QuantizeLinear' && node.input[0] === 'c')).toBeDefined()
  })

  it('stores the weight as int8 behind a DequantizeLinear and the bias as int32 with scale input_scale * weight_scale', () => {
    const { model, report } = quantizeStatic(convReluModel(), ranges)
    const graph = model.graph as OnnxGraph
    const conv = graph.node.find((node) => node.opType === 'Conv') as OnnxNode
    const weightDq = producer(graph, conv.input[1] ?? '') as OnnxNode
    expect(weightDq.opType).toBe('DequantizeLinear')
    const weight = initializer(graph, weightDq.input[0] ?? '')
    expect(weight.dataType).toBe(TensorDataType.INT8)
    // Per tensor: max |w| = 1.27 → scale 0.01; -0.635 → -63.5 → -64 (half to even); 0.05 → 5.
    expect(readTensorAsNumbers(weight)).toEqual([127, -64, 10, 5])
    const weightScale = readTensorAsFloat32(initializer(graph, weightDq.input[1] ?? ''))[0] ?? 0
    const biasDq = producer(graph, conv.input[2] ?? '') as OnnxNode
    const bias = initializer(graph, biasDq.input[0] ?? '')
    expect(bias.dataType).toBe(TensorDataType.INT32)
    const biasScale = readTensorAsFloat32(initializer(graph, biasDq.input[1] ?? ''))[0] ?? 0
    expect(biasScale).toBe(Math.fround(Math.fround(4 / 255) * weightScale))
    expect(readTensorAsNumbers(bias)).toEqual([Math.round(0.5 / biasScale), Math.round(-0.25 / biasScale)])
    expect(readTensorAsNumbers(initializer(graph, biasDq.input[2] ?? ''))).toEqual([0])
    expect(report.removedFloatWeights.sort()).toEqual(['b', 'w'])
    expect(report.quantizedNodes).toEqual([{ node: 'conv', opType: 'Conv', graphPath: 'main', emitted: 'QDQ', perChannel: false }])
  })

  it('quantizes Conv weights per output channel (axis 0) with per-channel int32 bias scales when asked', () => {
    const { model } = quantizeStatic(convReluModel(), ranges, { perChannel: true })
    const graph = model.graph as OnnxGraph
    const conv = graph.node.find((node) => node.opType === 'Conv') as OnnxNode
    const weightDq = producer(graph, conv.input[1] ?? '') as OnnxNode
    expect(findAttribute(weightDq, 'axis')?.i).toBe(0)
    expect(initializer(graph, weightDq.input[1] ?? '').dims).toEqual([2])
    // Channel 0: max 1.27 → [127, -64]; channel 1: max 0.1 → [127, 64] (0.05 / (0.1/127) = 63.5 → 64).
    expect(readTensorAsNumbers(initializer(graph, weightDq.input[0] ?? ''))).toEqual([127, -64, 127, 64])
    const biasDq = producer(graph, conv.input[2] ?? '') as OnnxNode
    expect(findAttribute(biasDq, 'axis')?.i).toBe(0)
    expect(initializer(graph, biasDq.input[1] ?? '').dims).toEqual([2])
  })

  it('absorbs a Relu whose output range starts at 0: the QuantizeLinear clamps negatives already', () => {
    const { model, report } = quantizeStatic(convReluMatMulModel(), ranges)
    const graph = model.graph as OnnxGraph
    expect(graph.node.some((node) => node.opType === 'Relu')).toBe(false)
    expect(report.removedActivations).toEqual(['relu'])
    const conv = graph.node.find((node) => node.opType === 'Conv') as OnnxNode
    expect(conv.output).toEqual(['y'])
    const quantize = graph.node.find((node) => node.opType === 'QuantizeLinear' && node.input[0] === 'y') as OnnxNode
    expect(readTensorAsNumbers(initializer(graph, quantize.input[2] ?? ''))).toEqual([0])
  })

  it('keeps a dead Relu (range max 0) because dropping it would let negatives through', () => {
    const dead = new Map(ranges)
    dead.set('y', { min: 0, max: 0 })
    const { model } = quantizeStatic(convReluMatMulModel(), dead)
    expect((model.graph as OnnxGraph).node.some((node) => node.opType === 'Relu')).toBe(true)
  })

  it('leaves a node in float when calibration gave no range for its input', () => {
    const partial = new Map(ranges)
    partial.delete('x')
    const { model, report } = quantizeStatic(convReluModel(), partial)
    expect((model.graph as OnnxGraph).node.map((node) => node.opType)).toEqual(['Conv', 'Relu'])
    expect(report.skippedNodes[0]?.reason).toMatch(/no float range for its input x/)
  })

  it('upgrades an opset-9 model to opset 10 for per-tensor QDQ', () => {
    const { model, report } = quantizeStatic(convReluModel(9), ranges)
    expect(report.opsetUpgrade).toEqual({ fromOpset: 9, toOpset: 10 })
    expect(model.opsetImport).toEqual([{ domain: '', version: 10 }])
  })

  it('shares one zero-point initializer among tensors with the same zero point', () => {
    const { model } = quantizeStatic(convReluMatMulModel(), ranges)
    const graph = model.graph as OnnxGraph
    const zeroPoints = graph.node.filter((node) => node.opType === 'QuantizeLinear').map((node) => node.input[2])
    // y and flat are both [0, 2.55] → zero point 0 → the same initializer.
    const y = graph.node.find((node) => node.opType === 'QuantizeLinear' && node.input[0] === 'y')
    const flat = graph.node.find((node) => node.opType === 'QuantizeLinear' && node.input[0] === 'flat')
    expect(y?.input[2]).toBe(flat?.input[2])
    expect(new Set(zeroPoints).size).toBeLessThan(zeroPoints.length)
  })
})

describe('foldBatchNormalization', () => {
  it('folds BN into the Conv: W * gamma / sqrt(var + eps), (b - mean) * gamma / sqrt(var + eps) + beta', () => {
    const model: OnnxModel = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        node: [
          makeNode('Conv', ['x', 'w', 'b'], ['c'], { name: 'conv', attribute: [attr.ints('kernel_shape', [1, 1])] }),
          makeNode('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['y'], { name: 'bn', attribute: [attr.float('epsilon', 0)] }),
        ],
        initializer: [
          float32Tensor('w', [2, 1, 1, 1], [1, 2]),
          float32Tensor('b', [2], [1, 1]),
          float32Tensor('gamma', [2], [2, 3]),
          float32Tensor('beta', [2], [0.5, -1]),
          float32Tensor('mean', [2], [1, 2]),
          float32Tensor('var', [2], [4, 9]),
        ],
        input: [makeTensorValueInfo('x', FLOAT, ['n', 1, 2, 2])],
        output: [makeTensorValueInfo('y', FLOAT, ['n', 2, 2, 2])],
      }),
    }
    expect(foldBatchNormalization(model)).toBe(1)
    const graph = model.graph as OnnxGraph
    expect(graph.node.map((node) => node.opType)).toEqual(['Conv'])
    const conv = graph.node[0] as OnnxNode
    expect(conv.output).toEqual(['y'])
    // Channel 0: factor 2/2 = 1 → w 1, bias (1-1)*1 + 0.5 = 0.5; channel 1: factor 3/3 = 1 → w 2, bias (1-2)*1 - 1 = -2.
    expect(Array.from(readTensorAsFloat32(initializer(graph, conv.input[1] ?? '')))).toEqual([1, 2])
    expect(Array.from(readTensorAsFloat32(initializer(graph, conv.input[2] ?? '')))).toEqual([0.5, -2])
    expect(graph.initializer.map((tensor) => tensor.name)).toEqual(['w_bn', 'conv_bn_bias'])
  })
})

describe('exposeTensorsAsOutputs', () => {
  it('adds untyped outputs for intermediate tensors and leaves inputs and existing outputs alone', () => {
    const augmented = exposeTensorsAsOutputs(convReluModel(), ['x', 'c', 'y'])
    expect((augmented.graph as OnnxGraph).output.map((output) => output.name)).toEqual(['y', 'c'])
    expect((convReluModel().graph as OnnxGraph).output).toHaveLength(1)
  })
})
