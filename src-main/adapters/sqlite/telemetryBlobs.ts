/**
 * Count vectors as SQLite blobs, and the SQL functions that add them in place, so rollups are `UPSERT ... SET x =
 * outpost_add_f64(x, excluded.x)` without reading rows back into JavaScript.
 * - f64 blobs (8 bytes per count, exact to 2^53) for sums that can grow large: series and device rollups.
 * - u32 blobs (4 bytes per count, modulo 2^32) for the drift checkpoints: they hold running totals whose
 *   differences are taken modulo 2^32, exact as long as one range counts fewer than 2^32 samples per bin, and
 *   half the size of the biggest table.
 */
import type { SqliteDatabase } from './openDatabase.ts'

// Counts are stored little-endian; on a little-endian host (every Node platform in practice) typed-array views
// copy whole blobs at once, elsewhere a DataView swaps byte by byte.
const isLittleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

export function encodeF64(values: ArrayLike<number>): Buffer {
  const typed = values instanceof Float64Array ? values : Float64Array.from(values)
  if (isLittleEndianHost) return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength)
  const buffer = Buffer.allocUnsafe(typed.length * 8)
  for (let i = 0; i < typed.length; i++) buffer.writeDoubleLE(typed[i] as number, i * 8)
  return buffer
}

export function decodeF64(blob: Uint8Array): Float64Array {
  const length = Math.floor(blob.byteLength / 8)
  if (isLittleEndianHost) return new Float64Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + length * 8))
  const values = new Float64Array(length)
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength)
  for (let i = 0; i < length; i++) values[i] = view.getFloat64(i * 8, true)
  return values
}

export function encodeU32(values: ArrayLike<number>): Buffer {
  const typed = values instanceof Uint32Array ? values : Uint32Array.from(values, (value) => value >>> 0)
  if (isLittleEndianHost) return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength)
  const buffer = Buffer.allocUnsafe(typed.length * 4)
  for (let i = 0; i < typed.length; i++) buffer.writeUInt32LE(typed[i] as number, i * 4)
  return buffer
}

export function decodeU32(blob: Uint8Array): Uint32Array {
  const length = Math.floor(blob.byteLength / 4)
  if (isLittleEndianHost) return new Uint32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + length * 4))
  const values = new Uint32Array(length)
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength)
  for (let i = 0; i < length; i++) values[i] = view.getUint32(i * 4, true)
  return values
}

/** Adds a u32 blob into `target` (`sign` -1 subtracts: the difference of two running totals, modulo 2^32). */
export function addU32Into(target: Float64Array | Uint32Array, blob: Uint8Array, sign: 1 | -1 = 1): void {
  // An aligned blob is read in place (heatmaps add thousands of them); otherwise it is copied first.
  const values =
    isLittleEndianHost && blob.byteOffset % 4 === 0 ? new Uint32Array(blob.buffer, blob.byteOffset, Math.floor(blob.byteLength / 4)) : decodeU32(blob)
  const length = Math.min(target.length, values.length)
  for (let i = 0; i < length; i++) target[i] = (target[i] as number) + sign * (values[i] as number)
}

function u32View(blob: Uint8Array): Uint32Array {
  return isLittleEndianHost && blob.byteOffset % 4 === 0 ? new Uint32Array(blob.buffer, blob.byteOffset, Math.floor(blob.byteLength / 4)) : decodeU32(blob)
}

/** target = end − start (modulo 2^32), or end alone without a start: the counts between two running totals. */
export function diffU32Into(target: Uint32Array, end: Uint8Array, start: Uint8Array | null): void {
  const endValues = u32View(end)
  const length = Math.min(target.length, endValues.length)
  if (start === null) {
    target.set(length === endValues.length ? endValues : endValues.subarray(0, length))
    return
  }
  const startValues = u32View(start)
  for (let i = 0; i < length; i++) target[i] = (endValues[i] as number) - (startValues[i] as number)
}

export function addF64Into(target: Float64Array, blob: Uint8Array): void {
  const values = decodeF64(blob)
  const length = Math.min(target.length, values.length)
  for (let i = 0; i < length; i++) target[i] = (target[i] as number) + (values[i] as number)
}

function isBlob(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array
}

/** Registers outpost_add_f64(a, b) and outpost_add_u32(a, b) on a connection (NULL a means zeros). */
export function registerTelemetryFunctions(db: SqliteDatabase): void {
  db.function('outpost_add_f64', { deterministic: true }, (left: unknown, right: unknown) => {
    if (!isBlob(right)) return isBlob(left) ? left : null
    if (!isBlob(left) || left.byteLength !== right.byteLength) return right
    const sum = decodeF64(left)
    addF64Into(sum, right)
    return encodeF64(sum)
  })
  db.function('outpost_add_u32', { deterministic: true }, (left: unknown, right: unknown) => {
    if (!isBlob(right)) return isBlob(left) ? left : null
    if (!isBlob(left) || left.byteLength !== right.byteLength) return right
    const sum = decodeU32(left)
    addU32Into(sum, right)
    return encodeU32(sum)
  })
}
