import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { type OnnxGraph, type OnnxModel, type OnnxNode, attr, findAttribute, makeGraph, makeNode, makeTensorValueInfo } from '../packaging/onnxModel.ts'
import { TensorDataType, float32Tensor, int64Tensor, readTensorAsFloat32, readTensorAsNumbers } from '../packaging/tensorData.ts'
import { quantizeDynamic } from './quantizeDynamic.ts'
import { upgradeOpset } from './upgradeOpset.ts'

const FLOAT = TensorDataType.FLOAT

function model(graph: OnnxGraph, opset = 13): OnnxModel {
  return { irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph }
}

function ramp(count: number, scale: number): number[] {
  return Array.from({ length: count }, (_, index) => ((index % 7) - 3) * scale)
}

/** x [N, 4] → MatMul(w [4, 3]) → y. */
function matMulModel(): OnnxModel {
  return model(
    makeGraph({
      node: [makeNode('MatMul', ['x', 'w'], ['y'], { name: 'mm' })],
      initializer: [float32Tensor('w', [4, 3], [1.27, -0.5, 0, 0.25, 2.54, -1, 0.5, 0, 0.1, -1.27, 1, 0.3])],
      input: [makeTensorValueInfo('x', FLOAT, ['n', 4])],
      output: [makeTensorValueInfo('y', FLOAT, ['n', 3])],
    }),
  )
}

function initializer(graph: OnnxGraph, name: string) {
  const tensor = graph.initializer.find((candidate) => candidate.name === name)
  if (tensor === undefined) throw new Error(`no initializer ${name}`)
  return tensor
}

function ops(graph: OnnxGraph): string[] {
  return graph.node.map((node) => (node.domain ? `${node.domain}.${node.opType}` : (node.opType ?? '')))
}

function nodeOf(graph: OnnxGraph, opType: string, index = 0): OnnxNode {
  const node = graph.node.filter((candidate) => candidate.opType === opType)[index]
  if (node === undefined) throw new Error(`no ${opType} node`)
  return node
}

describe('quantizeDynamic on MatMul', () => {
  it("emits onnxruntime's DynamicQuantizeLinear → MatMulInteger → Cast → Mul(Mul(a_scale, b_scale)) chain", () => {
    const { model: quantized, report } = quantizeDynamic(matMulModel())
    const graph = quantized.graph as OnnxGraph
    expect(ops(graph)).toEqual(['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul'])
    const [dql, matMulInteger, cast, scales, output] = graph.node as [OnnxNode, OnnxNode, OnnxNode, OnnxNode, OnnxNode]
    expect(dql.input).toEqual(['x'])
    expect(dql.output).toEqual(['x_quantized', 'x_scale', 'x_zero_point'])
    expect(matMulInteger.input).toEqual(['x_quantized', 'w_quantized', 'x_zero_point', 'w_zero_point'])
    expect(findAttribute(cast, 'to')?.i).toBe(FLOAT)
    // The scales Mul takes the activation scale first (the fusion does not care, onnxruntime's quantizer does).
    expect(scales.input).toEqual(['x_scale', 'w_scale'])
    expect(output.input).toEqual([cast.output[0], scales.output[0]])
    expect(output.output).toEqual(['y'])
    expect(report.quantizedNodes).toEqual([{ node: 'mm', opType: 'MatMul', graphPath: 'main', emitted: 'MatMulInteger', perChannel: false }])
    expect(report.removedFloatWeights).toEqual(['w'])
  })

  it('stores symmetric int8 weights: scale max|w| / 127, zero point 0', () => {
    const graph = quantizeDynamic(matMulModel()).model.graph as OnnxGraph
    const weight = initializer(graph, 'w_quantized')
    expect(weight.dataType).toBe(TensorDataType.INT8)
    expect(weight.dims).toEqual([4, 3])
    const scale = readTensorAsFloat32(initializer(graph, 'w_scale'))[0] ?? 0
    expect(scale).toBe(Math.fround(5.08 / 254))
    expect(readTensorAsNumbers(initializer(graph, 'w_zero_point'))).toEqual([0])
    // 2.54 → 127, 1.27 → round(63.5) = 64 (half to even), -1.27 → -64.
    expect(readTensorAsNumbers(weight)).toEqual([64, -25, 0, 12, 127, -50, 25, 0, 5, -64, 50, 15])
    expect(graph.initializer.some((tensor) => tensor.name === 'w')).toBe(false)
  })

  it('quantizes per column (axis -1) when asked, with 1-D scales and zero points', () => {
    const { model: quantized, report } = quantizeDynamic(matMulModel(), { perChannel: true })
    const graph = quantized.graph as OnnxGraph
    expect(initializer(graph, 'w_scale').dims).toEqual([3])
    expect(initializer(graph, 'w_zero_point').dims).toEqual([3])
    // Column 0 holds 1.27, 0.25, 0.5, -1.27: max |w| = 1.27.
    expect(readTensorAsFloat32(initializer(graph, 'w_scale'))[0]).toBe(Math.fround(Math.fround(1.27) * 2 / 254))
    expect(report.quantizedNodes[0]?.perChannel).toBe(true)
  })

  it('leaves a MatMul of two activations in float, as MatMulConstBOnly does', () => {
    const graph = makeGraph({
      node: [makeNode('MatMul', ['a', 'b'], ['y'], { name: 'mm' })],
      input: [makeTensorValueInfo('a', FLOAT, [2, 2]), makeTensorValueInfo('b', FLOAT, [2, 2])],
      output: [makeTensorValueInfo('y', FLOAT, [2, 2])],
    })
    const { model: quantized, report } = quantizeDynamic(model(graph))
    expect(ops(quantized.graph as OnnxGraph)).toEqual(['MatMul'])
    expect(report.skippedNodes[0]?.reason).toMatch(/not a float32 constant/)
  })

  it('keeps excluded nodes and unlisted operator types in float', () => {
    expect(ops(quantizeDynamic(matMulModel(), { nodesToExclude: ['mm'] }).model.graph as OnnxGraph)).toEqual(['MatMul'])
    expect(ops(quantizeDynamic(matMulModel(), { opTypes: ['Conv'] }).model.graph as OnnxGraph)).toEqual(['MatMul'])
  })

  it('does not modify the input model', () => {
    const source = matMulModel()
    const before = JSON.stringify(source, (_key, value: unknown) => (value instanceof Uint8Array ? Array.from(value) : value))
    quantizeDynamic(source, { perChannel: true })
    expect(JSON.stringify(source, (_key, value: unknown) => (value instanceof Uint8Array ? Array.from(value) : value))).toBe(before)
  })
})

describe('quantizeDynamic on shared weights and subgraphs', () => {
  /** Two MatMuls read w; an If branch reads w from the outer scope and its own w_inner. */
  function sharedModel(): OnnxModel {
    const thenBranch = makeGraph({
      node: [makeNode('MatMul', ['x', 'w'], ['t1'], { name: 'then_mm' }), makeNode('MatMul', ['t1', 'w_inner'], ['t2'], { name: 'then_mm2' })],
      initializer: [float32Tensor('w_inner', [2, 2], [1, 0, 0, 1])],
      output: [makeTensorValueInfo('t2', FLOAT, ['n', 2])],
    })
    const elseBranch = makeGraph({ node: [makeNode('Identity', ['x'], ['e'], { name: 'else_id' })], output: [makeTensorValueInfo('e', FLOAT, ['n', 2])] })
    return model(
      makeGraph({
        node: [
          makeNode('MatMul', ['x', 'w'], ['a'], { name: 'first' }),
          makeNode('MatMul', ['x', 'w'], ['b'], { name: 'second' }),
          makeNode('If', ['flag'], ['c'], { name: 'branch', attribute: [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)] }),
        ],
        initializer: [float32Tensor('w', [2, 2], [0.5, -1, 0.25, 1])],
        input: [makeTensorValueInfo('x', FLOAT, ['n', 2]), makeTensorValueInfo('flag', TensorDataType.BOOL, [])],
        output: [makeTensorValueInfo('a', FLOAT, ['n', 2]), makeTensorValueInfo('b', FLOAT, ['n', 2]), makeTensorValueInfo('c', FLOAT, ['n', 2])],
      }),
    )
  }

  it('quantizes a weight shared by several nodes once and one activation once per graph', () => {
    const { model: quantized, report } = quantizeDynamic(sharedModel())
    const graph = quantized.graph as OnnxGraph
    expect(graph.initializer.map((tensor) => tensor.name)).toEqual(['w_quantized', 'w_scale', 'w_zero_point'])
    expect(ops(graph).filter((op) => op === 'DynamicQuantizeLinear')).toHaveLength(1)
    expect(ops(graph).filter((op) => op === 'MatMulInteger')).toHaveLength(2)
    expect(report.quantizedWeightCount).toBe(2)
  })

  it("quantizes inside If branches, keeping an outer weight's int8 copy in the graph that owns it", () => {
    const { model: quantized, report } = quantizeDynamic(sharedModel())
    const ifNode = nodeOf(quantized.graph as OnnxGraph, 'If')
    const thenBranch = findAttribute(ifNode, 'then_branch')?.g as OnnxGraph
    expect(ops(thenBranch)).toEqual([
      'DynamicQuantizeLinear',
      'MatMulInteger',
      'Cast',
      'Mul',
      'Mul',
      'DynamicQuantizeLinear',
      'MatMulInteger',
      'Cast',
      'Mul',
      'Mul',
    ])
    expect(nodeOf(thenBranch, 'MatMulInteger').input[1]).toBe('w_quantized')
    expect(thenBranch.initializer.map((tensor) => tensor.name)).toEqual(['w_inner_quantized', 'w_inner_scale', 'w_inner_zero_point'])
    expect(report.quantizedNodes.map((record) => record.graphPath)).toEqual(['main', 'main', 'main/branch.then_branch', 'main/branch.then_branch'])
    // Names stay unique across the whole model: the branch's DynamicQuantizeLinear of x gets its own outputs.
    const names = [...(quantized.graph as OnnxGraph).node, ...thenBranch.node].flatMap((node) => node.output)
    expect(new Set(names).size).toBe(names.length)
  })

  it('leaves subgraphs untouched when told to', () => {
    const { model: quantized } = quantizeDynamic(sharedModel(), { quantizeSubgraphs: false })
    const thenBranch = findAttribute(nodeOf(quantized.graph as OnnxGraph, 'If'), 'then_branch')?.g as OnnxGraph
    expect(ops(thenBranch)).toEqual(['MatMul', 'MatMul'])
    // The branch still reads the float w, so it must not be removed.
    expect((quantized.graph as OnnxGraph).initializer.some((tensor) => tensor.name === 'w')).toBe(true)
  })
})

describe('quantizeDynamic on Gemm, Conv and LSTM', () => {
  it('turns Gemm into the MatMul pattern plus Add, folding transB and alpha into the weight and beta into C', () => {
    const graph = makeGraph({
      node: [makeNode('Gemm', ['x', 'w', 'c'], ['y'], { name: 'gemm', attribute: [attr.int('transB', 1), attr.float('alpha', 2), attr.float('beta', 0.5)] })],
      // w is [N=2, K=3] because transB=1.
      initializer: [float32Tensor('w', [2, 3], [1, 2, 3, -4, 5, -6]), float32Tensor('c', [2], [10, -20])],
      input: [makeTensorValueInfo('x', FLOAT, ['n', 3])],
      output: [makeTensorValueInfo('y', FLOAT, ['n', 2])],
    })
    const quantized = quantizeDynamic(model(graph)).model.graph as OnnxGraph
    expect(ops(quantized)).toEqual(['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul', 'Add'])
    const weight = initializer(quantized, 'w_quantized')
    expect(weight.dims).toEqual([3, 2])
    // alpha * w^T = [[2, -8], [4, 10], [6, -12]]; scale 24/254 → [21, -85, 42, 106, 64, -127].
    expect(readTensorAsNumbers(weight)).toEqual([21, -85, 42, 106, 64, -127])
    const add = nodeOf(quantized, 'Add')
    expect(readTensorAsFloat32(initializer(quantized, add.input[1] ?? ''))).toEqual(Float32Array.from([5, -10]))
    expect(add.output).toEqual(['y'])
  })

  it('turns Conv into ConvInteger with per-channel scales shaped [C, 1, 1] and a reshaped float bias', () => {
    const graph = makeGraph({
      node: [makeNode('Conv', ['x', 'w', 'b'], ['y'], { name: 'conv', attribute: [attr.ints('kernel_shape', [1, 1]), attr.ints('strides', [1, 1])] })],
      initializer: [float32Tensor('w', [2, 1, 1, 1], [0.5, -2]), float32Tensor('b', [2], [1, 2])],
      input: [makeTensorValueInfo('x', FLOAT, ['n', 1, 4, 4])],
      output: [makeTensorValueInfo('y', FLOAT, ['n', 2, 4, 4])],
    })
    const quantized = quantizeDynamic(model(graph)).model.graph as OnnxGraph
    expect(ops(quantized)).toEqual(['DynamicQuantizeLinear', 'ConvInteger', 'Cast', 'Mul', 'Mul', 'Add'])
    const convInteger = nodeOf(quantized, 'ConvInteger')
    expect(findAttribute(convInteger, 'strides')?.ints).toEqual([1, 1])
    expect(initializer(quantized, 'w_scale').dims).toEqual([2, 1, 1])
    expect(initializer(quantized, 'w_zero_point').dims).toEqual([])
    expect(readTensorAsNumbers(initializer(quantized, 'w_quantized'))).toEqual([127, -127])
    expect(initializer(quantized, nodeOf(quantized, 'Add').input[1] ?? '').dims).toEqual([1, 2, 1, 1])
  })

  it('turns LSTM into com.microsoft DynamicQuantizeLSTM with [dirs, input, 4H] int8 weights', () => {
    const hidden = 2
    const graph = makeGraph({
      node: [makeNode('LSTM', ['x', 'w', 'r'], ['y', 'h'], { name: 'lstm', attribute: [attr.int('hidden_size', hidden)] })],
      initializer: [float32Tensor('w', [1, 4 * hidden, 3], ramp(24, 0.1)), float32Tensor('r', [1, 4 * hidden, hidden], ramp(16, 0.2))],
      input: [makeTensorValueInfo('x', FLOAT, [5, 'n', 3])],
      output: [makeTensorValueInfo('h', FLOAT, [1, 'n', hidden])],
    })
    const { model: quantized } = quantizeDynamic(model(graph, 14))
    const lstm = nodeOf(quantized.graph as OnnxGraph, 'DynamicQuantizeLSTM')
    expect(lstm.domain).toBe('com.microsoft')
    expect(lstm.input).toEqual(['x', 'w_quantized', 'r_quantized', '', '', '', '', '', 'w_scale', 'w_zero_point', 'r_scale', 'r_zero_point'])
    expect(initializer(quantized.graph as OnnxGraph, 'w_quantized').dims).toEqual([1, 3, 8])
    expect(initializer(quantized.graph as OnnxGraph, 'w_scale').dims).toEqual([1])
    expect(quantized.opsetImport).toContainEqual({ domain: 'com.microsoft', version: 1 })
    // Element [0, gate g, input i] of W lands at [0, i, g].
    const original = ramp(24, 0.1)
    const quantizedValues = readTensorAsNumbers(initializer(quantized.graph as OnnxGraph, 'w_quantized'))
    const scale = readTensorAsFloat32(initializer(quantized.graph as OnnxGraph, 'w_scale'))[0] ?? 1
    expect(quantizedValues[1 * 8 + 5]).toBe(Math.round((original[5 * 3 + 1] ?? 0) / scale))
  })
})

describe('opset handling', () => {
  /** An opset-9 model using the operators whose signature changed in opsets 10 and 11. */
  function opset9Model(extra: OnnxNode[] = []): OnnxModel {
    return {
      irVersion: 4,
      opsetImport: [{ domain: '', version: 9 }],
      graph: makeGraph({
        node: [
          makeNode('Slice', ['x'], ['s'], { name: 'slice', attribute: [attr.ints('starts', [0]), attr.ints('ends', [2]), attr.ints('axes', [1])] }),
          makeNode('Clip', ['s'], ['c'], { name: 'clip', attribute: [attr.float('min', 0), attr.float('max', 6)] }),
          makeNode('Pad', ['c'], ['p'], { name: 'pad', attribute: [attr.ints('pads', [0, 1, 0, 1]), attr.float('value', 0)] }),
          makeNode('MatMul', ['p', 'w'], ['y'], { name: 'mm' }),
          ...extra,
        ],
        initializer: [float32Tensor('w', [4, 2], ramp(8, 0.5))],
        input: [makeTensorValueInfo('x', FLOAT, ['n', 3])],
        output: [makeTensorValueInfo('y', FLOAT, ['n', 2])],
      }),
    }
  }

  it('upgrades opset 9 to 11 for DynamicQuantizeLinear, rewriting Slice, Clip and Pad into their input forms', () => {
    const { model: quantized, report } = quantizeDynamic(opset9Model())
    expect(report.opsetUpgrade).toEqual({ fromOpset: 9, toOpset: 11 })
    expect(quantized.opsetImport).toEqual([{ domain: '', version: 11 }])
    expect(quantized.irVersion).toBe(6)
    const graph = quantized.graph as OnnxGraph
    const slice = nodeOf(graph, 'Slice')
    expect(slice.attribute).toEqual([])
    expect(slice.input.slice(1).map((name) => readTensorAsNumbers(initializer(graph, name)))).toEqual([[0], [2], [1]])
    const clip = nodeOf(graph, 'Clip')
    expect(clip.input.slice(1).map((name) => readTensorAsNumbers(initializer(graph, name)))).toEqual([[0], [6]])
    const pad = nodeOf(graph, 'Pad')
    expect(pad.input.length).toBe(2)
    expect(readTensorAsNumbers(initializer(graph, pad.input[1] ?? ''))).toEqual([0, 1, 0, 1])
  })

  it('refuses to upgrade an operator whose meaning changed, with model-unsupported', () => {
    const upsample = makeNode('Upsample', ['y', 'scales'], ['u'], { name: 'up' })
    try {
      quantizeDynamic(opset9Model([upsample]))
      throw new Error('expected a refusal')
    } catch (error) {
      expect(error).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('model-unsupported')
      expect((error as AppError).message).toMatch(/Upsample node up cannot be converted to opset 11/)
    }
  })

  it('leaves models at the target opset alone', () => {
    const fresh = matMulModel()
    expect(upgradeOpset(fresh, 11)).toEqual({ fromOpset: 13, toOpset: 13 })
    expect(fresh.opsetImport).toEqual([{ domain: '', version: 13 }])
  })

  it('folds constant Slice/Concat/Unsqueeze chains so a computed weight is still quantized', () => {
    const graph = makeGraph({
      node: [
        makeNode('Constant', [], ['raw'], { name: 'raw_const', attribute: [attr.tensor('value', float32Tensor('', [2, 2], [1, 2, 3, 4]))] }),
        makeNode('Slice', ['raw', 'starts', 'ends', 'axes'], ['top'], { name: 'slice' }),
        makeNode('Concat', ['top', 'top'], ['stacked'], { name: 'concat', attribute: [attr.int('axis', 0)] }),
        makeNode('MatMul', ['x', 'stacked'], ['y'], { name: 'mm' }),
      ],
      initializer: [int64Tensor('starts', [1], [0]), int64Tensor('ends', [1], [1]), int64Tensor('axes', [1], [0])],
      input: [makeTensorValueInfo('x', FLOAT, ['n', 2])],
      output: [makeTensorValueInfo('y', FLOAT, ['n', 2])],
    })
    const quantized = quantizeDynamic(model(graph)).model.graph as OnnxGraph
    expect(ops(quantized)).toEqual(['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul'])
    // stacked = [[1, 2], [1, 2]], scale 2/127 → [64, 127, 64, 127].
    expect(readTensorAsNumbers(initializer(quantized, 'stacked_quantized'))).toEqual([64, 127, 64, 127])
    expect(quantized.initializer.map((tensor) => tensor.name)).not.toContain('raw')
  })
})
