import { describe, expect, it } from 'vitest'
import { ModelInspection } from '../../../src-shared/domain/modelInspection.ts'
import { inspectOnnxModel, inspectTfliteModel } from './inspectModel.ts'
import { DataLocation, attr, makeGraph, makeNode, makeTensorValueInfo, type OnnxModel } from './onnxModel.ts'
import { TensorDataType, float16Tensor, float32Tensor, int64Tensor } from './tensorData.ts'
import type { TfliteModel, TfliteTensor } from './tfliteModel.ts'

const FLOAT = TensorDataType.FLOAT

/** Main graph with an If whose else branch holds a Loop; weights in every kind of storage. */
function modelWithSubgraphs(): OnnxModel {
  const loopBody = makeGraph({
    name: 'body',
    input: [makeTensorValueInfo('i', TensorDataType.INT64, []), makeTensorValueInfo('c', TensorDataType.BOOL, []), makeTensorValueInfo('s', FLOAT, [2])],
    node: [makeNode('Add', ['s', 'step'], ['s2']), makeNode('Identity', ['c'], ['c2'])],
    initializer: [float32Tensor('step', [2], [1, 1])],
    output: [makeTensorValueInfo('c2', TensorDataType.BOOL, []), makeTensorValueInfo('s2', FLOAT, [2])],
  })
  const thenBranch = makeGraph({
    name: 'then',
    node: [makeNode('Relu', ['x'], ['t1']), makeNode('Relu', ['t1'], ['t2'])],
    output: [makeTensorValueInfo('t2', FLOAT, [2])],
  })
  const elseBranch = makeGraph({
    name: 'else',
    node: [makeNode('Loop', ['n', '', 'x'], ['e1'], { name: 'repeat', attribute: [attr.graph('body', loopBody)] })],
    output: [makeTensorValueInfo('e1', FLOAT, [2])],
  })
  return {
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
      { domain: 'vendor.ops', version: 1 },
      { domain: 'local.fn', version: 1 },
    ],
    producerName: 'test',
    producerVersion: '2.1',
    metadataProps: [{ key: 'author', value: 'outpost' }],
    graph: makeGraph({
      name: 'g',
      input: [
        makeTensorValueInfo('x', FLOAT, ['batch', 2]),
        makeTensorValueInfo('flag', TensorDataType.BOOL, []),
        { name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: FLOAT } } } } },
        makeTensorValueInfo('w16', TensorDataType.FLOAT16, [3]),
      ],
      initializer: [
        float16Tensor('w16', [3], [1, 2, 3]),
        int64Tensor('n', [], [2]),
        {
          name: 'ext',
          dims: [4, 4],
          dataType: FLOAT,
          dataLocation: DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: 'weights.bin' },
            { key: 'length', value: '64' },
          ],
        },
      ],
      node: [
        makeNode('If', ['flag'], ['y'], { name: 'choose', attribute: [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)] }),
        makeNode('Constant', [], ['k'], { attribute: [attr.tensor('value', float32Tensor('', [5], [1, 2, 3, 4, 5]))] }),
        makeNode('Constant', [], ['k2'], { attribute: [attr.floats('value_floats', [1, 2])] }),
        makeNode('ConstantOfShape', ['n'], ['zeros'], { attribute: [attr.tensor('value', float32Tensor('', [1], [0]))] }),
        makeNode('FusedGemm', ['y', 'k'], ['z'], { domain: 'com.microsoft' }),
        makeNode('Frobnicate', ['z'], ['f'], { domain: 'vendor.ops' }),
        makeNode('Frobnicate', ['f'], ['f2'], { domain: 'vendor.ops' }),
        makeNode('Twice', ['f2'], ['out'], { domain: 'local.fn' }),
      ],
      output: [makeTensorValueInfo('out', FLOAT, ['batch', null])],
    }),
    functions: [{ name: 'Twice', domain: 'local.fn', input: ['a'], output: ['b'], node: [makeNode('Add', ['a', 'a'], ['b'])], opsetImport: [{ domain: '', version: 17 }] }],
  }
}

describe('inspectOnnxModel', () => {
  it('reports I/O, opsets, producer, metadata and a histogram that includes If and Loop bodies by path', () => {
    const inspection = ModelInspection.parse(inspectOnnxModel(modelWithSubgraphs(), { sizeBytes: 1234 }))
    expect(inspection).toMatchObject({ format: 'onnx', sizeBytes: 1234, irVersion: 8, producerName: 'test', producerVersion: '2.1' })
    expect(inspection.opsets).toEqual({ '': 17, 'com.microsoft': 1, 'vendor.ops': 1, 'local.fn': 1 })
    expect(inspection.metadata).toEqual([{ key: 'author', value: 'outpost' }])
    // w16 is both an input and an initializer (IR < 4 style): a weight, not an input to feed.
    expect(inspection.inputs).toEqual([
      { name: 'x', elementType: 'float32', shape: ['batch', 2] },
      { name: 'flag', elementType: 'bool', shape: [] },
      { name: 'seq', elementType: 'seq(float32)', shape: [] },
    ])
    expect(inspection.outputs).toEqual([{ name: 'out', elementType: 'float32', shape: ['batch', null] }])
    const count = (path: string, opType: string): number | undefined => inspection.opHistogram.find((o) => o.path === path && o.opType === opType)?.count
    expect(count('main/choose.then_branch', 'Relu')).toBe(2)
    expect(count('main/choose.else_branch', 'Loop')).toBe(1)
    expect(count('main/choose.else_branch/repeat.body', 'Add')).toBe(1)
    expect(count('main', 'Frobnicate')).toBe(2)
    expect(count('function:local.fn.Twice', 'Add')).toBe(1)
    expect(inspection.subgraphCount).toBe(3)
    expect(inspection.nodeCount).toBe(8 + 2 + 1 + 2 + 1)
  })

  it('flags custom-domain operators but not contrib ops or model-local functions', () => {
    const inspection = inspectOnnxModel(modelWithSubgraphs(), { sizeBytes: 0 })
    expect(inspection.customOps).toEqual([
      { domain: 'vendor.ops', opType: 'Frobnicate', count: 2, definedByModelFunction: false },
      { domain: 'local.fn', opType: 'Twice', count: 1, definedByModelFunction: true },
    ])
    expect(inspection.warnings).toEqual(['Custom operator vendor.ops.Frobnicate needs a kernel that stock onnxruntime does not have'])
  })

  it('counts parameters by dtype across initializers, subgraph initializers, Constant nodes and external data', () => {
    const inspection = inspectOnnxModel(modelWithSubgraphs(), { sizeBytes: 0, externalFileSizes: new Map([['weights.bin', 4096]]) })
    // float32: ext 16 + step 2 + Constant 5 + value_floats 2; ConstantOfShape's fill value is not a parameter.
    expect(inspection.parametersByDtype).toEqual([
      { dtype: 'float32', count: 25, bytes: 100 },
      { dtype: 'int64', count: 1, bytes: 8 },
      { dtype: 'float16', count: 3, bytes: 6 },
    ])
    expect(inspection.parameterCount).toBe(29)
    expect(inspection.parameterBytes).toBe(114)
    expect(inspection.externalDataFiles).toEqual([{ location: 'weights.bin', sizeBytes: 4096, tensorCount: 1 }])
  })

  it('warns, without failing, about IR versions and opsets newer than supported', () => {
    const model = { ...modelWithSubgraphs(), irVersion: 11, opsetImport: [{ domain: '', version: 23 }] }
    const inspection = inspectOnnxModel(model, { sizeBytes: 0 })
    expect(inspection.warnings.filter((w) => /IR version 11|opset 23/.test(w))).toHaveLength(2)
    expect(inspectOnnxModel({ ...model, opsetImport: [] }, { sizeBytes: 0 }).warnings).toContain('The model imports no default ONNX opset')
  })
})

describe('inspectTfliteModel', () => {
  const tensor = (name: string, shape: number[], type: number, typeName: string, buffer: number, shapeSignature?: number[]): TfliteTensor => ({
    name,
    shape,
    type,
    typeName,
    buffer,
    isVariable: false,
    isSparse: false,
    ...(shapeSignature === undefined ? {} : { shapeSignature }),
  })

  it('reports builtin and custom ops by subgraph, dynamic dims as null, and shared buffers once', () => {
    const model: TfliteModel = {
      version: 3,
      description: 'converted',
      operatorCodes: [
        { builtinCode: 9, builtinName: 'FULLY_CONNECTED', deprecatedBuiltinCode: 9, version: 1 },
        { builtinCode: 32, builtinName: 'CUSTOM', deprecatedBuiltinCode: 32, customCode: 'Special', version: 1 },
        { builtinCode: 119, builtinName: 'WHILE', deprecatedBuiltinCode: 119, version: 1 },
      ],
      subgraphs: [
        {
          tensors: [
            tensor('in', [1, 8], 0, 'float32', 0, [-1, 8]),
            tensor('w', [8, 8], 9, 'int8', 1),
            tensor('w_again', [8, 8], 9, 'int8', 1),
            tensor('b', [8], 1, 'float16', 2),
            tensor('out', [1, 8], 0, 'float32', 0),
          ],
          inputs: [0],
          outputs: [4],
          operators: [
            { opcodeIndex: 0, inputs: [0, 1, 3], outputs: [4], builtinOptionsType: 0, customOptionsSizeBytes: 0 },
            { opcodeIndex: 1, inputs: [4, 2], outputs: [4], builtinOptionsType: 0, customOptionsSizeBytes: 3 },
            { opcodeIndex: 2, inputs: [4], outputs: [4], builtinOptionsType: 0, customOptionsSizeBytes: 0 },
          ],
        },
        { name: 'cond', tensors: [], inputs: [], outputs: [], operators: [{ opcodeIndex: 0, inputs: [], outputs: [], builtinOptionsType: 0, customOptionsSizeBytes: 0 }] },
      ],
      buffers: [
        { dataOffset: 0, sizeBytes: 0 },
        { dataOffset: 100, sizeBytes: 64 },
        { dataOffset: 200, sizeBytes: 16 },
      ],
      metadata: [{ name: 'min_runtime_version', buffer: 2 }],
      signatureDefs: [],
    }
    const inspection = ModelInspection.parse(inspectTfliteModel(model, { sizeBytes: 999 }))
    expect(inspection).toMatchObject({ format: 'tflite', formatVersion: 3, irVersion: null, description: 'converted', subgraphCount: 1, nodeCount: 4 })
    expect(inspection.inputs).toEqual([{ name: 'in', elementType: 'float32', shape: [null, 8] }])
    expect(inspection.opHistogram).toEqual([
      { opType: 'FULLY_CONNECTED', domain: 'tflite', path: 'main', count: 1 },
      { opType: 'Special', domain: 'tflite.custom', path: 'main', count: 1 },
      { opType: 'WHILE', domain: 'tflite', path: 'main', count: 1 },
      { opType: 'FULLY_CONNECTED', domain: 'tflite', path: 'subgraph[1]:cond', count: 1 },
    ])
    expect(inspection.parametersByDtype).toEqual([
      { dtype: 'int8', count: 64, bytes: 64 },
      { dtype: 'float16', count: 8, bytes: 16 },
    ])
    expect(inspection.customOps).toEqual([{ domain: 'tflite.custom', opType: 'Special', count: 1, definedByModelFunction: false }])
    expect(inspection.warnings).toHaveLength(1)
    expect(inspection.metadata).toEqual([{ key: 'min_runtime_version', value: 'buffer 2 (16 bytes)' }])
  })
})
