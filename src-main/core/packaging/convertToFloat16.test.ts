import { describe, expect, it } from 'vitest'
import { constantsToInitializers, deduplicateInitializers } from './constantsToInitializers.ts'
import { DEFAULT_FLOAT16_OP_BLOCK_LIST, convertToFloat16 } from './convertToFloat16.ts'
import { freeVariables, inferElementTypes } from './elementTypes.ts'
import { attr, findAttribute, makeGraph, makeNode, makeTensorValueInfo, type OnnxGraph, type OnnxModel } from './onnxModel.ts'
import { TensorDataType, float32Tensor, int64Tensor, readTensorAsFloat32 } from './tensorData.ts'

const FLOAT = TensorDataType.FLOAT
const FLOAT16 = TensorDataType.FLOAT16

function model(graph: OnnxGraph, opset = 17): OnnxModel {
  return { irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph }
}

/** x → MatMul(w) → Resize(scales) → TopK → Cast(to float) → Add(bias) → y, with value_info on the way. */
function pipeline(): OnnxModel {
  return model(
    makeGraph({
      name: 'pipeline',
      input: [makeTensorValueInfo('x', FLOAT, [1, 1, 4, 4])],
      initializer: [
        float32Tensor('w', [4, 4], Array.from({ length: 16 }, (_, i) => i / 10)),
        float32Tensor('scales', [4], [1, 1, 2, 2]),
        int64Tensor('k', [1], [3]),
        float32Tensor('bias', [3], [0.5, 1e-9, -2]),
      ],
      node: [
        makeNode('MatMul', ['x', 'w'], ['m'], { name: 'matmul' }),
        makeNode('Resize', ['m', '', 'scales'], ['r'], { name: 'resize', attribute: [attr.string('mode', 'linear')] }),
        makeNode('TopK', ['r', 'k'], ['top', 'top_idx'], { name: 'topk' }),
        makeNode('Cast', ['top_idx'], ['idx_f'], { name: 'cast', attribute: [attr.int('to', FLOAT)] }),
        makeNode('Add', ['top', 'idx_f'], ['sum'], { name: 'add_idx' }),
        makeNode('Add', ['sum', 'bias'], ['y'], { name: 'add_bias' }),
      ],
      output: [makeTensorValueInfo('y', FLOAT, [1, 1, 8, 3])],
      valueInfo: [makeTensorValueInfo('m', FLOAT, [1, 1, 4, 4]), makeTensorValueInfo('top_idx', TensorDataType.INT64, [1, 1, 8, 3])],
    }),
  )
}

describe('convertToFloat16', () => {
  it('keeps float32 I/O behind Casts, Resize scales float32, TopK in float32, and retargets Cast(to=FLOAT)', () => {
    const source = pipeline()
    const snapshot = structuredClone(source)
    const { model: converted, report } = convertToFloat16(source)
    expect(source).toEqual(snapshot)
    const graph = converted.graph
    if (graph === undefined) throw new Error('no graph')
    const byName = (name: string) => graph.node.find((n) => n.name === name)
    const producer = (value: string) => graph.node.find((n) => n.output.includes(value))

    expect(graph.input[0]?.type?.tensorType?.elemType).toBe(FLOAT)
    expect(graph.output[0]?.type?.tensorType?.elemType).toBe(FLOAT)
    expect(producer('y')?.opType).toBe('Cast')
    expect(findAttribute(producer('y') ?? { input: [], output: [], attribute: [] }, 'to')?.i).toBe(FLOAT)
    const matmulInput = byName('matmul')?.input[0] ?? ''
    expect(producer(matmulInput)?.opType).toBe('Cast')
    expect(graph.initializer.find((t) => t.name === 'w')?.dataType).toBe(FLOAT16)
    expect(graph.initializer.find((t) => t.name === 'scales')?.dataType).toBe(FLOAT)
    expect(byName('resize')?.input[2]).toBe('scales')
    // TopK is blocked: its float input arrives through a Cast to float32, its float output leaves through one to float16.
    const topkInput = byName('topk')?.input[0] ?? ''
    expect(findAttribute(producer(topkInput) ?? { input: [], output: [], attribute: [] }, 'to')?.i).toBe(FLOAT)
    expect(byName('add_idx')?.input[0]).not.toBe('top')
    expect(findAttribute(byName('cast') ?? { input: [], output: [], attribute: [] }, 'to')?.i).toBe(FLOAT16)
    expect(graph.valueInfo.find((v) => v.name === 'm')?.type?.tensorType?.elemType).toBe(FLOAT16)
    expect(graph.valueInfo.find((v) => v.name === 'top_idx')?.type?.tensorType?.elemType).toBe(TensorDataType.INT64)
    expect(report).toMatchObject({ blockedOpTypes: ['TopK'], retargetedCasts: 1, raisedToMinPositive: 1, convertedInitializers: 2, keptFloat32Initializers: 1 })
    expect(readTensorAsFloat32(graph.initializer.find((t) => t.name === 'bias') ?? { dims: [] })[1]).toBe(2 ** -24)
  })

  it('blocks cubic Resize, non-default domains and listed nodes, and honours a custom block list', () => {
    const graph = makeGraph({
      name: 'g',
      input: [makeTensorValueInfo('x', FLOAT, [4])],
      node: [
        makeNode('Resize', ['x', '', 'scales'], ['r'], { name: 'cubic', attribute: [attr.string('mode', 'cubic')] }),
        makeNode('Gelu', ['r'], ['g'], { name: 'contrib', domain: 'com.microsoft' }),
        makeNode('Relu', ['g'], ['y'], { name: 'relu' }),
      ],
      initializer: [float32Tensor('scales', [1], [2])],
      output: [makeTensorValueInfo('y', FLOAT, [8])],
    })
    expect(convertToFloat16(model(graph)).report.blockedOpTypes).toEqual(['Gelu', 'Resize'])
    expect(convertToFloat16(model(graph), { nodeBlockList: ['relu'] }).report.blockedNodes).toBe(3)
    expect(convertToFloat16(model(graph), { opBlockList: [] }).report.blockedOpTypes).toEqual(['Gelu', 'Resize'])
    expect(DEFAULT_FLOAT16_OP_BLOCK_LIST).toEqual(expect.arrayContaining(['Range', 'NonMaxSuppression', 'TopK', 'CumSum']))
  })

  it('leaves a Cast(to=FLOAT) that only float32 readers use untouched, so large integers are not rounded', () => {
    const graph = makeGraph({
      input: [makeTensorValueInfo('n', TensorDataType.INT64, []), makeTensorValueInfo('x', FLOAT, [3])],
      node: [
        makeNode('Cast', ['n'], ['limit'], { name: 'to_float', attribute: [attr.int('to', FLOAT)] }),
        makeNode('Range', ['start', 'limit', 'delta'], ['r'], { name: 'range' }),
        makeNode('Relu', ['x'], ['y'], { name: 'relu' }),
      ],
      initializer: [float32Tensor('start', [], [0]), float32Tensor('delta', [], [1])],
      output: [makeTensorValueInfo('r', FLOAT, [null]), makeTensorValueInfo('y', FLOAT, [3])],
    })
    const { model: converted, report } = convertToFloat16(model(graph))
    const cast = converted.graph?.node.find((n) => n.name === 'to_float')
    expect(findAttribute(cast ?? { input: [], output: [], attribute: [] }, 'to')?.i).toBe(FLOAT)
    expect(converted.graph?.node.find((n) => n.name === 'range')?.input).toEqual(['start', 'limit', 'delta'])
    expect(converted.graph?.initializer.every((t) => t.dataType === FLOAT)).toBe(true)
    expect(report.retargetedCasts).toBe(0)
  })

  it('converts If branches and Loop bodies: body float inputs and outputs become float16', () => {
    const body = makeGraph({
      name: 'body',
      input: [makeTensorValueInfo('i', TensorDataType.INT64, []), makeTensorValueInfo('c', TensorDataType.BOOL, []), makeTensorValueInfo('s', FLOAT, [2])],
      node: [makeNode('Mul', ['s', 'outer'], ['s2']), makeNode('Identity', ['c'], ['c2'])],
      output: [makeTensorValueInfo('c2', TensorDataType.BOOL, []), makeTensorValueInfo('s2', FLOAT, [2])],
    })
    const thenBranch = makeGraph({
      name: 'then',
      node: [makeNode('Add', ['x', 'inner'], ['t'])],
      initializer: [float32Tensor('inner', [2], [1, 2])],
      output: [makeTensorValueInfo('t', FLOAT, [2])],
    })
    // The else branch returns the float32 graph input itself: it must be cast to float16 inside the branch.
    const elseBranch = makeGraph({ name: 'else', output: [makeTensorValueInfo('x', FLOAT, [2])] })
    const source = model(
      makeGraph({
        name: 'g',
        input: [makeTensorValueInfo('x', FLOAT, [2]), makeTensorValueInfo('flag', TensorDataType.BOOL, [])],
        initializer: [float32Tensor('outer', [2], [3, 4]), int64Tensor('n', [], [2])],
        node: [
          makeNode('If', ['flag'], ['b'], { name: 'if', attribute: [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)] }),
          makeNode('Loop', ['n', '', 'b'], ['y'], { name: 'loop', attribute: [attr.graph('body', body)] }),
        ],
        output: [makeTensorValueInfo('y', FLOAT, [2])],
      }),
    )
    const { model: converted, report } = convertToFloat16(source)
    expect(report.convertedSubgraphs).toBe(3)
    const nodes = converted.graph?.node ?? []
    const ifNode = nodes.find((n) => n.name === 'if')
    const then = findAttribute(ifNode ?? { input: [], output: [], attribute: [] }, 'then_branch')?.g
    const otherwise = findAttribute(ifNode ?? { input: [], output: [], attribute: [] }, 'else_branch')?.g
    expect(then?.initializer[0]?.dataType).toBe(FLOAT16)
    expect(then?.output[0]?.type?.tensorType?.elemType).toBe(FLOAT16)
    expect(otherwise?.node.map((n) => n.opType)).toEqual(['Cast'])
    expect(otherwise?.output[0]?.name).toBe(otherwise?.node[0]?.output[0])
    const loopBody = findAttribute(nodes.find((n) => n.name === 'loop') ?? { input: [], output: [], attribute: [] }, 'body')?.g
    expect(loopBody?.input.map((v) => v.type?.tensorType?.elemType)).toEqual([TensorDataType.INT64, TensorDataType.BOOL, FLOAT16])
    expect(loopBody?.output.map((v) => v.type?.tensorType?.elemType)).toEqual([TensorDataType.BOOL, FLOAT16])
    expect(converted.graph?.initializer.find((t) => t.name === 'outer')?.dataType).toBe(FLOAT16)
  })

  it('refuses opsets before 7 and bounds outside the float16 range', () => {
    expect(() => convertToFloat16(model(pipeline().graph ?? makeGraph({}), 6))).toThrow(expect.objectContaining({ code: 'model-unsupported' }))
    expect(() => convertToFloat16(pipeline(), { maxFiniteValue: 70000 })).toThrow(expect.objectContaining({ code: 'invalid-input' }))
  })
})

describe('element type inference', () => {
  it('follows declared types, operator rules and subgraph outputs', () => {
    const types = inferElementTypes(pipeline().graph ?? makeGraph({}))
    expect(types.get('m')).toBe(FLOAT)
    expect(types.get('top')).toBe(FLOAT)
    expect(types.get('top_idx')).toBe(TensorDataType.INT64)
    expect(types.get('idx_f')).toBe(FLOAT)
    const graph = makeGraph({
      input: [makeTensorValueInfo('x', FLOAT16, [2])],
      node: [
        makeNode('Shape', ['x'], ['s']),
        makeNode('Equal', ['x', 'x'], ['e']),
        makeNode('ConstantOfShape', ['s'], ['z']),
        makeNode('LayerNormalization', ['x', 'x', 'x'], ['ln', 'mean', 'inv']),
        makeNode('Custom', ['x'], ['c'], { domain: 'vendor' }),
      ],
    })
    const inferred = inferElementTypes(graph)
    expect([inferred.get('s'), inferred.get('e'), inferred.get('z'), inferred.get('ln'), inferred.get('mean'), inferred.get('c')]).toEqual([
      TensorDataType.INT64,
      TensorDataType.BOOL,
      FLOAT,
      FLOAT16,
      FLOAT,
      undefined,
    ])
  })

  it('finds outer-scope reads of nested subgraphs, not names they define', () => {
    const inner = makeGraph({ node: [makeNode('Add', ['a', 'local'], ['o'])], initializer: [float32Tensor('local', [1], [1])], output: [makeTensorValueInfo('o', FLOAT)] })
    const outer = makeGraph({ node: [makeNode('If', ['cond'], ['r'], { attribute: [attr.graph('then_branch', inner)] })], output: [makeTensorValueInfo('r', FLOAT)] })
    expect([...freeVariables(outer)].sort()).toEqual(['a', 'cond'])
  })
})

describe('constant compaction', () => {
  it('moves Constant nodes into initializers and merges identical initializers, subgraph reads included', () => {
    const inner = makeGraph({ node: [makeNode('Add', ['two', 'x'], ['o'])], output: [makeTensorValueInfo('o', FLOAT)] })
    const source = model(
      makeGraph({
        input: [makeTensorValueInfo('x', FLOAT, [1]), makeTensorValueInfo('cond', TensorDataType.BOOL, [])],
        node: [
          makeNode('Constant', [], ['one'], { attribute: [attr.tensor('value', float32Tensor('ignored', [1], [2]))] }),
          makeNode('Constant', [], ['axes'], { attribute: [attr.ints('value_ints', [0, 1])] }),
          makeNode('Add', ['x', 'one'], ['a']),
          makeNode('If', ['cond'], ['b'], { attribute: [attr.graph('then_branch', inner), attr.graph('else_branch', inner)] }),
          makeNode('Add', ['a', 'b'], ['y']),
        ],
        initializer: [float32Tensor('two', [1], [2])],
        output: [makeTensorValueInfo('y', FLOAT, [1])],
      }),
    )
    expect(constantsToInitializers(source)).toBe(2)
    expect(source.graph?.initializer.map((t) => t.name)).toEqual(['two', 'one', 'axes'])
    expect(deduplicateInitializers(source)).toBe(1)
    expect(source.graph?.initializer.map((t) => t.name)).toEqual(['two', 'axes'])
    expect(source.graph?.node.find((n) => n.opType === 'Add')?.input).toEqual(['x', 'two'])
  })
})
