/**
 * TFLite reader: a hand-written flatbuffers reader for schema v3 (file identifier TFL3) over flatbuffers.ByteBuffer.
 * No generated code exists on npm for the TFLite schema, so the vtable slots below follow
 * tensorflow/lite/schema/schema.fbs field order. Every offset is bounds-checked: flatbuffers' own accessors read
 * past the end as zeros, which would turn a truncated file into silent garbage.
 */
import { ByteBuffer } from 'flatbuffers'
import { AppError } from '../../../src-shared/errors.ts'
import {
  tfliteBuiltinName,
  tfliteTensorTypeName,
  type TfliteModel,
  type TfliteOperatorCode,
  type TfliteQuantization,
  type TfliteSubgraph,
  type TfliteBuffer,
  type TfliteTensor,
} from '../../core/packaging/tfliteModel.ts'

export * from '../../core/packaging/tfliteModel.ts'

/** TFLite's deprecated byte-sized builtin_code saturates at 127 (the schema's PLACEHOLDER_FOR_GREATER_OP_CODES) for newer ops. */
const DEPRECATED_BUILTIN_CODE_CEILING = 127

class CorruptFlatbuffer extends Error {}

/** Bounds-checked reads over a ByteBuffer. Tables are positions; slot n lives at vtable offset 4 + 2n. */
class Reader {
  readonly bb: ByteBuffer
  readonly length: number

  constructor(bytes: Uint8Array) {
    this.bb = new ByteBuffer(bytes)
    this.length = bytes.length
  }

  check(offset: number, size: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.length) {
      throw new CorruptFlatbuffer(`offset ${offset} (+${size}) is outside the ${this.length}-byte file`)
    }
  }

  u8(offset: number): number {
    this.check(offset, 1)
    return this.bb.readUint8(offset)
  }

  i8(offset: number): number {
    this.check(offset, 1)
    return this.bb.readInt8(offset)
  }

  u16(offset: number): number {
    this.check(offset, 2)
    return this.bb.readUint16(offset)
  }

  i32(offset: number): number {
    this.check(offset, 4)
    return this.bb.readInt32(offset)
  }

  u32(offset: number): number {
    this.check(offset, 4)
    return this.bb.readUint32(offset)
  }

  u64(offset: number): number {
    this.check(offset, 8)
    return Number(this.bb.readUint64(offset))
  }

  f32(offset: number): number {
    this.check(offset, 4)
    return this.bb.readFloat32(offset)
  }

  i64(offset: number): number {
    this.check(offset, 8)
    return Number(this.bb.readInt64(offset))
  }

  /** Absolute position of the field in slot `slot` of the table at `table`, or 0 when absent. */
  field(table: number, slot: number): number {
    const vtable = table - this.i32(table)
    const vtableBytes = this.u16(vtable)
    const entry = 4 + 2 * slot
    if (entry + 2 > vtableBytes) return 0
    const relative = this.u16(vtable + entry)
    return relative === 0 ? 0 : table + relative
  }

  /** Follows a uoffset stored at `offset`. */
  indirect(offset: number): number {
    const target = offset + this.u32(offset)
    this.check(target, 4)
    return target
  }

  /** Start and length of the vector in a slot; elements of elementBytes each must fit in the file. */
  vector(table: number, slot: number, elementBytes: number): { start: number; length: number } {
    const at = this.field(table, slot)
    if (at === 0) return { start: 0, length: 0 }
    const header = this.indirect(at)
    const length = this.u32(header)
    this.check(header + 4, length * elementBytes)
    return { start: header + 4, length }
  }

  tables(table: number, slot: number): number[] {
    const { start, length } = this.vector(table, slot, 4)
    return Array.from({ length }, (_, i) => this.indirect(start + 4 * i))
  }

  ints(table: number, slot: number): number[] {
    const { start, length } = this.vector(table, slot, 4)
    return Array.from({ length }, (_, i) => this.i32(start + 4 * i))
  }

  floats(table: number, slot: number): number[] {
    const { start, length } = this.vector(table, slot, 4)
    return Array.from({ length }, (_, i) => this.f32(start + 4 * i))
  }

  longs(table: number, slot: number): number[] {
    const { start, length } = this.vector(table, slot, 8)
    return Array.from({ length }, (_, i) => this.i64(start + 8 * i))
  }

  string(table: number, slot: number): string | undefined {
    const { start, length } = this.vector(table, slot, 1)
    if (start === 0) return undefined
    return new TextDecoder().decode(this.bb.bytes().subarray(start, start + length))
  }

  scalar(table: number, slot: number, read: (offset: number) => number, fallback: number): number {
    const at = this.field(table, slot)
    return at === 0 ? fallback : read(at)
  }
}

function readTensor(r: Reader, t: number): TfliteTensor {
  const type = r.scalar(t, 1, (o) => r.i8(o), 0)
  const tensor: TfliteTensor = {
    name: r.string(t, 3) ?? '',
    shape: r.ints(t, 0),
    type,
    typeName: tfliteTensorTypeName(type),
    buffer: r.scalar(t, 2, (o) => r.u32(o), 0),
    isVariable: r.scalar(t, 5, (o) => r.u8(o), 0) !== 0,
    isSparse: r.field(t, 6) !== 0,
  }
  const signature = r.ints(t, 7)
  if (signature.length > 0) tensor.shapeSignature = signature
  const q = r.field(t, 4)
  if (q !== 0) {
    const table = r.indirect(q)
    const quantization: TfliteQuantization = {
      min: r.floats(table, 0),
      max: r.floats(table, 1),
      scale: r.floats(table, 2),
      zeroPoint: r.longs(table, 3),
      quantizedDimension: r.scalar(table, 6, (o) => r.i32(o), 0),
    }
    if (quantization.scale.length > 0 || quantization.min.length > 0) tensor.quantization = quantization
  }
  return tensor
}

function readModel(r: Reader): TfliteModel {
  const root = r.indirect(0)
  const version = r.scalar(root, 0, (o) => r.u32(o), 0)
  const operatorCodes = r.tables(root, 1).map((c): TfliteOperatorCode => {
    const deprecatedBuiltinCode = r.scalar(c, 0, (o) => r.i8(o), 0)
    const builtinCode = Math.max(deprecatedBuiltinCode, r.scalar(c, 3, (o) => r.i32(o), 0))
    const code: TfliteOperatorCode = {
      builtinCode,
      builtinName: tfliteBuiltinName(builtinCode),
      deprecatedBuiltinCode,
      version: r.scalar(c, 2, (o) => r.i32(o), 1),
    }
    const custom = r.string(c, 1)
    if (custom !== undefined) code.customCode = custom
    return code
  })
  if (operatorCodes.some((c) => c.deprecatedBuiltinCode > DEPRECATED_BUILTIN_CODE_CEILING)) {
    throw new CorruptFlatbuffer('an operator code is out of range')
  }
  const subgraphs = r.tables(root, 2).map((g): TfliteSubgraph => {
    const subgraph: TfliteSubgraph = {
      tensors: r.tables(g, 0).map((t) => readTensor(r, t)),
      inputs: r.ints(g, 1),
      outputs: r.ints(g, 2),
      operators: r.tables(g, 3).map((o) => ({
        opcodeIndex: r.scalar(o, 0, (p) => r.u32(p), 0),
        inputs: r.ints(o, 1),
        outputs: r.ints(o, 2),
        builtinOptionsType: r.scalar(o, 3, (p) => r.u8(p), 0),
        customOptionsSizeBytes: r.vector(o, 5, 1).length || r.scalar(o, 10, (p) => r.u64(p), 0),
      })),
    }
    const name = r.string(g, 4)
    if (name !== undefined) subgraph.name = name
    return subgraph
  })
  const buffers = r.tables(root, 4).map((b): TfliteBuffer => {
    const data = r.vector(b, 0, 1)
    if (data.length > 0) return { dataOffset: data.start, sizeBytes: data.length }
    // Models over 2 GiB keep buffer data after the flatbuffer, addressed by offset/size (offset 1 means "none").
    const offset = r.scalar(b, 1, (o) => r.u64(o), 0)
    const size = r.scalar(b, 2, (o) => r.u64(o), 0)
    return offset > 1 ? { dataOffset: offset, sizeBytes: size } : { dataOffset: 0, sizeBytes: 0 }
  })
  const metadata = r.tables(root, 6).map((m) => ({ name: r.string(m, 0) ?? '', buffer: r.scalar(m, 1, (o) => r.u32(o), 0) }))
  const tensorMaps = (table: number, slot: number) => r.tables(table, slot).map((m) => ({ name: r.string(m, 0) ?? '', tensorIndex: r.scalar(m, 1, (o) => r.u32(o), 0) }))
  const signatureDefs = r.tables(root, 7).map((s) => {
    const def: TfliteModel['signatureDefs'][number] = { inputs: tensorMaps(s, 0), outputs: tensorMaps(s, 1), subgraphIndex: r.scalar(s, 4, (o) => r.u32(o), 0) }
    const key = r.string(s, 2)
    if (key !== undefined) def.signatureKey = key
    return def
  })
  const model: TfliteModel = { version, operatorCodes, subgraphs, buffers, metadata, signatureDefs }
  const description = r.string(root, 3)
  if (description !== undefined) model.description = description
  return model
}

function checkReferences(model: TfliteModel): void {
  for (const [gi, g] of model.subgraphs.entries()) {
    const tensorCount = g.tensors.length
    const badTensor = [...g.inputs, ...g.outputs, ...g.operators.flatMap((o) => [...o.inputs, ...o.outputs])].find((i) => i < -1 || i >= tensorCount)
    if (badTensor !== undefined) throw new CorruptFlatbuffer(`subgraph ${gi} refers to tensor ${badTensor} of ${tensorCount}`)
    const badCode = g.operators.find((o) => o.opcodeIndex >= model.operatorCodes.length)
    if (badCode !== undefined) throw new CorruptFlatbuffer(`subgraph ${gi} refers to operator code ${badCode.opcodeIndex}`)
    const badBuffer = g.tensors.find((t) => t.buffer >= model.buffers.length && model.buffers.length > 0)
    if (badBuffer !== undefined) throw new CorruptFlatbuffer(`tensor ${badBuffer.name} refers to buffer ${badBuffer.buffer}`)
  }
}

export function isTfliteFile(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'TFL3'
}

/** Decodes a TFLite flatbuffer (schema v3). Throws AppError 'model-invalid' or 'model-unsupported'. */
export function decodeTflite(bytes: Uint8Array): TfliteModel {
  if (!isTfliteFile(bytes)) {
    throw new AppError('model-invalid', 'The file is not a TFLite model: it lacks the TFL3 flatbuffer identifier', { byteLength: bytes.length })
  }
  let model: TfliteModel
  try {
    model = readModel(new Reader(bytes))
    checkReferences(model)
  } catch (error) {
    if (error instanceof CorruptFlatbuffer || error instanceof RangeError) {
      throw new AppError('model-invalid', 'The TFLite file is damaged or truncated: its flatbuffer points outside the file; copy the model again', {
        byteLength: bytes.length,
        reason: error.message,
      })
    }
    throw error
  }
  if (model.version !== 3) {
    throw new AppError('model-unsupported', `The TFLite model uses schema version ${model.version}; Outpost reads version 3`, { version: model.version })
  }
  if (model.subgraphs.length === 0) throw new AppError('model-invalid', 'The TFLite model has no subgraph', {})
  return model
}
