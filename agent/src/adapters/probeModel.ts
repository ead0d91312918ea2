/**
 * The smallest useful ONNX model, encoded by hand so the agent needs no protobuf library: y = Relu(x),
 * x and y float32 [1, 4]. Creating a session on it with a single execution provider proves that provider loads.
 * Field numbers follow onnx/onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
 */

const textEncoder = new TextEncoder()

function varint(value: number): number[] {
  const bytes: number[] = []
  let rest = value
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80)
    rest = Math.floor(rest / 128)
  }
  bytes.push(rest)
  return bytes
}

/** Wire type 0 (varint) field. */
function intField(field: number, value: number): number[] {
  return [...varint((field << 3) | 0), ...varint(value)]
}

/** Wire type 2 (length-delimited) field: strings and embedded messages. */
function bytesField(field: number, content: number[] | string): number[] {
  const bytes = typeof content === 'string' ? Array.from(textEncoder.encode(content)) : content
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes]
}

const FLOAT_ELEMENT_TYPE = 1

function floatTensorValueInfo(name: string, dims: number[]): number[] {
  const shape = dims.flatMap((dim) => bytesField(1, intField(1, dim)))
  const tensorType = [...intField(1, FLOAT_ELEMENT_TYPE), ...bytesField(2, shape)]
  return [...bytesField(1, name), ...bytesField(2, bytesField(1, tensorType))]
}

export function buildProbeModel(): Uint8Array {
  const node = [...bytesField(1, 'x'), ...bytesField(2, 'y'), ...bytesField(3, 'probe_relu'), ...bytesField(4, 'Relu')]
  const graph = [
    ...bytesField(1, node),
    ...bytesField(2, 'outpost_probe'),
    ...bytesField(11, floatTensorValueInfo('x', [1, 4])),
    ...bytesField(12, floatTensorValueInfo('y', [1, 4])),
  ]
  const model = [
    ...intField(1, 8), // ir_version
    ...bytesField(2, 'outpost-agent'), // producer_name
    ...bytesField(7, graph),
    ...bytesField(8, intField(2, 13)), // opset_import { version: 13 }, default domain
  ]
  return Uint8Array.from(model)
}
