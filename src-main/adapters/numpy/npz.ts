/**
 * Reads and writes NumPy `.npz` archives: a zip file of `.npy` members, stored or deflated (numpy.savez and
 * numpy.savez_compressed). The zip central directory is parsed here (PKWARE APPNOTE.TXT §4.3), including the zip64
 * records numpy always writes (it opens members with force_zip64=True).
 */
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib'
import { AppError } from '../../../src-shared/errors.ts'
import { type NdArray, isNpy, readNpy, writeNpy } from './npy.ts'

const LOCAL_HEADER_SIGNATURE = 0x04034b50
const CENTRAL_HEADER_SIGNATURE = 0x02014b50
const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50
const ZIP64_END_SIGNATURE = 0x06064b50
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50
const ZIP64_EXTRA_ID = 0x0001
const METHOD_STORED = 0
const METHOD_DEFLATED = 8

export interface ZipEntry {
  name: string
  method: number
  compressedSizeBytes: number
  uncompressedSizeBytes: number
  crc32: number
  localHeaderOffset: number
}

function invalid(source: string, reason: string): AppError {
  return new AppError('invalid-input', `${source} is not a valid .npz file: ${reason}.`, { source })
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5) && (bytes[3] === 4 || bytes[3] === 6)
}

function findEndOfCentralDirectory(view: DataView, source: string): number {
  // The record is 22 bytes plus a comment of up to 65535 bytes, so it lies in the file's last 65557 bytes.
  const lowest = Math.max(0, view.byteLength - 22 - 0xffff)
  for (let offset = view.byteLength - 22; offset >= lowest; offset--) {
    if (view.getUint32(offset, true) === END_OF_CENTRAL_DIRECTORY_SIGNATURE) return offset
  }
  throw invalid(source, 'the zip end-of-central-directory record is missing (the file is truncated or not a zip archive)')
}

function safeNumber(value: bigint, source: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(source, 'a zip64 size is too large')
  return Number(value)
}

/** Lists the members of a zip archive from its central directory. */
export function listZipEntries(bytes: Uint8Array, source = 'The archive'): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 22) throw invalid(source, 'the file is too short to be a zip archive')
  const endOffset = findEndOfCentralDirectory(view, source)
  let entryCount = view.getUint16(endOffset + 10, true)
  let directorySize = view.getUint32(endOffset + 12, true)
  let directoryOffset = view.getUint32(endOffset + 16, true)
  const locatorOffset = endOffset - 20
  if (locatorOffset >= 0 && view.getUint32(locatorOffset, true) === ZIP64_LOCATOR_SIGNATURE) {
    const zip64EndOffset = safeNumber(view.getBigUint64(locatorOffset + 8, true), source)
    if (zip64EndOffset + 56 > bytes.length || view.getUint32(zip64EndOffset, true) !== ZIP64_END_SIGNATURE) {
      throw invalid(source, 'the zip64 end-of-central-directory record is damaged')
    }
    entryCount = safeNumber(view.getBigUint64(zip64EndOffset + 32, true), source)
    directorySize = safeNumber(view.getBigUint64(zip64EndOffset + 40, true), source)
    directoryOffset = safeNumber(view.getBigUint64(zip64EndOffset + 48, true), source)
  }
  if (directoryOffset + directorySize > bytes.length) throw invalid(source, 'the central directory lies beyond the end of the file (truncated)')
  const entries: ZipEntry[] = []
  let offset = directoryOffset
  for (let index = 0; index < entryCount; index++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== CENTRAL_HEADER_SIGNATURE) {
      throw invalid(source, `central directory entry ${index} is damaged`)
    }
    const flags = view.getUint16(offset + 8, true)
    const method = view.getUint16(offset + 10, true)
    const crc = view.getUint32(offset + 16, true)
    let compressedSizeBytes = view.getUint32(offset + 20, true)
    let uncompressedSizeBytes = view.getUint32(offset + 24, true)
    const nameLength = view.getUint16(offset + 28, true)
    const extraLength = view.getUint16(offset + 30, true)
    const commentLength = view.getUint16(offset + 32, true)
    let localHeaderOffset = view.getUint32(offset + 42, true)
    const nameEnd = offset + 46 + nameLength
    if (nameEnd + extraLength + commentLength > bytes.length) throw invalid(source, `central directory entry ${index} is truncated`)
    // Bit 11 marks a UTF-8 name; otherwise CP437, which equals ASCII for the names numpy writes.
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(bytes.subarray(offset + 46, nameEnd))
    if (flags & 0x1) throw invalid(source, `the member '${name}' is encrypted`)
    // Zip64 extra field: only the values whose 32-bit slot holds 0xFFFFFFFF are present, in this order.
    let extraOffset = nameEnd
    const extraEnd = nameEnd + extraLength
    while (extraOffset + 4 <= extraEnd) {
      const id = view.getUint16(extraOffset, true)
      const size = view.getUint16(extraOffset + 2, true)
      if (id === ZIP64_EXTRA_ID) {
        let field = extraOffset + 4
        const next = (): number => {
          if (field + 8 > extraOffset + 4 + size) throw invalid(source, `the zip64 field of '${name}' is too short`)
          const value = safeNumber(view.getBigUint64(field, true), source)
          field += 8
          return value
        }
        if (uncompressedSizeBytes === 0xffffffff) uncompressedSizeBytes = next()
        if (compressedSizeBytes === 0xffffffff) compressedSizeBytes = next()
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next()
      }
      extraOffset += 4 + size
    }
    entries.push({ name, method, compressedSizeBytes, uncompressedSizeBytes, crc32: crc, localHeaderOffset })
    offset = extraEnd + commentLength
  }
  return entries
}

/** Returns one member's uncompressed bytes, checking its CRC-32. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, source = 'The archive'): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const offset = entry.localHeaderOffset
  if (offset + 30 > bytes.length || view.getUint32(offset, true) !== LOCAL_HEADER_SIGNATURE) {
    throw invalid(source, `the local header of '${entry.name}' is damaged`)
  }
  // The local header's extra field may differ in length from the central one, so take its own lengths.
  const dataStart = offset + 30 + view.getUint16(offset + 26, true) + view.getUint16(offset + 28, true)
  const dataEnd = dataStart + entry.compressedSizeBytes
  if (dataEnd > bytes.length) throw invalid(source, `the member '${entry.name}' is truncated`)
  const stored = bytes.subarray(dataStart, dataEnd)
  let content: Uint8Array
  if (entry.method === METHOD_STORED) {
    content = stored
  } else if (entry.method === METHOD_DEFLATED) {
    try {
      content = inflateRawSync(stored, { maxOutputLength: Math.max(1, entry.uncompressedSizeBytes) })
    } catch (error) {
      throw invalid(source, `the member '${entry.name}' does not inflate (${error instanceof Error ? error.message : String(error)})`)
    }
  } else {
    throw invalid(source, `the member '${entry.name}' uses compression method ${entry.method} (only stored and deflate are supported)`)
  }
  if (content.length !== entry.uncompressedSizeBytes) throw invalid(source, `the member '${entry.name}' has the wrong size`)
  if (crc32(content) >>> 0 !== entry.crc32 >>> 0) throw invalid(source, `the member '${entry.name}' fails its CRC-32 check`)
  return content
}

/** Parses an `.npz` archive into arrays keyed by member name without the `.npy` suffix, in archive order. */
export function readNpz(bytes: Uint8Array, source = 'The archive'): Map<string, NdArray> {
  if (!isZip(bytes)) throw invalid(source, 'it does not start with a zip signature')
  const arrays = new Map<string, NdArray>()
  for (const entry of listZipEntries(bytes, source)) {
    if (entry.name.endsWith('/')) continue
    const content = readZipEntry(bytes, entry, source)
    const key = entry.name.endsWith('.npy') ? entry.name.slice(0, -4) : entry.name
    if (!isNpy(content)) throw invalid(source, `the member '${entry.name}' is not a .npy array`)
    arrays.set(key, readNpy(content, `${source} member '${entry.name}'`))
  }
  return arrays
}

/** Parses either a `.npy` (one array, keyed by `defaultName`) or a `.npz` file, told apart by their magic bytes. */
export function readNumpy(bytes: Uint8Array, source = 'The file', defaultName = 'arr_0'): Map<string, NdArray> {
  if (isNpy(bytes)) return new Map([[defaultName, readNpy(bytes, source)]])
  if (isZip(bytes)) return readNpz(bytes, source)
  throw new AppError('invalid-input', `${source} is neither a .npy nor a .npz file (the magic bytes do not match).`, { source })
}

interface PendingEntry {
  nameBytes: Uint8Array
  method: number
  crc: number
  data: Uint8Array
  uncompressedSizeBytes: number
  localHeaderOffset: number
}

/** Writes arrays as an `.npz` archive; `compress` deflates the members like numpy.savez_compressed. */
export function writeNpz(arrays: ReadonlyMap<string, NdArray> | Record<string, NdArray>, options: { compress?: boolean } = {}): Uint8Array {
  const named: Array<[string, NdArray]> =
    arrays instanceof Map ? [...(arrays as ReadonlyMap<string, NdArray>).entries()] : Object.entries(arrays as Record<string, NdArray>)
  const entries: PendingEntry[] = []
  const parts: Uint8Array[] = []
  let offset = 0
  for (const [name, array] of named) {
    const content = writeNpy(array)
    const method = options.compress ? METHOD_DEFLATED : METHOD_STORED
    const data = method === METHOD_DEFLATED ? deflateRawSync(content) : content
    const entry: PendingEntry = {
      nameBytes: new TextEncoder().encode(`${name}.npy`),
      method,
      crc: crc32(content) >>> 0,
      data,
      uncompressedSizeBytes: content.length,
      localHeaderOffset: offset,
    }
    if (offset + data.length > 0xfffffffe) throw new AppError('invalid-input', 'The arrays are too large for an .npz archive without zip64 (4 GiB).')
    const local = new Uint8Array(30 + entry.nameBytes.length)
    const view = new DataView(local.buffer)
    view.setUint32(0, LOCAL_HEADER_SIGNATURE, true)
    view.setUint16(4, 20, true)
    view.setUint16(6, 0x800, true)
    view.setUint16(8, method, true)
    view.setUint32(14, entry.crc, true)
    view.setUint32(18, data.length, true)
    view.setUint32(22, content.length, true)
    view.setUint16(26, entry.nameBytes.length, true)
    local.set(entry.nameBytes, 30)
    parts.push(local, data)
    offset += local.length + data.length
    entries.push(entry)
  }
  const directoryOffset = offset
  for (const entry of entries) {
    const central = new Uint8Array(46 + entry.nameBytes.length)
    const view = new DataView(central.buffer)
    view.setUint32(0, CENTRAL_HEADER_SIGNATURE, true)
    view.setUint16(4, 20, true)
    view.setUint16(6, 20, true)
    view.setUint16(8, 0x800, true)
    view.setUint16(10, entry.method, true)
    view.setUint32(16, entry.crc, true)
    view.setUint32(20, entry.data.length, true)
    view.setUint32(24, entry.uncompressedSizeBytes, true)
    view.setUint16(28, entry.nameBytes.length, true)
    view.setUint32(42, entry.localHeaderOffset, true)
    central.set(entry.nameBytes, 46)
    parts.push(central)
    offset += central.length
  }
  const end = new Uint8Array(22)
  const endView = new DataView(end.buffer)
  endView.setUint32(0, END_OF_CENTRAL_DIRECTORY_SIGNATURE, true)
  endView.setUint16(8, entries.length, true)
  endView.setUint16(10, entries.length, true)
  endView.setUint32(12, offset - directoryOffset, true)
  endView.setUint32(16, directoryOffset, true)
  parts.push(end)
  const out = new Uint8Array(offset + end.length)
  let position = 0
  for (const part of parts) {
    out.set(part, position)
    position += part.length
  }
  return out
}
