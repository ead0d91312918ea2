/**
 * A valid ONNX model of any size, for tests of multi-chunk delivery: features float32 [batch,16] → MatMul with a
 * [16, width] weight → float32 [batch, width]. Weights follow a fixed pattern, so the bytes are deterministic.
 */
import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

function floatValueInfo(name: string, dims: Array<number | string>) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) =>
            typeof d === 'number' ? onnx.TensorShapeProto.Dimension.create({ dimValue: d }) : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  })
}

/** About 64 bytes per unit of width plus ~200 bytes of graph: width 6000 gives ~384 KB, three 128 KiB chunks. */
export function buildWideModel(width: number): Uint8Array {
  const weights = Float32Array.from({ length: 16 * width }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5)
  const graph = onnx.GraphProto.create({
    name: 'wide',
    node: [onnx.NodeProto.create({ opType: 'MatMul', input: ['features', 'w'], output: ['scores'], name: 'MatMul_scores' })],
    initializer: [
      onnx.TensorProto.create({ name: 'w', dims: [16, width], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(weights.buffer) }),
    ],
    input: [floatValueInfo('features', ['batch', 16])],
    output: [floatValueInfo('scores', ['batch', width])],
  })
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 13 })],
    producerName: 'outpost-tests',
    graph,
  })
  return onnx.ModelProto.encode(model).finish()
}
