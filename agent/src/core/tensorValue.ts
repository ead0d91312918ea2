/** Plain tensor values exchanged with the model runtime, independent of onnxruntime's classes. */

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[]

export interface TensorValue {
  /** onnxruntime element type name: 'float32', 'int64', 'bool', ... */
  elementType: string
  dims: number[]
  data: TensorData
}
