/**
 * Artifact bytes against a verified manifest (anchors-security.md §10.6 step 5): the chunk list is pinned by the
 * manifest, each chunk by the list, and the whole file by length and SHA-256. Nothing longer than the manifest
 * says is accepted, so a server cannot feed endless data.
 */
import { encodeHex, type Sha256 } from './bytes.ts'
import { ChunkList, MAX_CHUNK_LIST_BYTES } from '../protocol/messages.ts'
import { parsePayload, type ManifestFile } from './metadata.ts'
import { reject, type TrustRejection } from './trustErrors.ts'

type Accept<T> = ({ verdict: 'accept' } & T) | TrustRejection

export function chunkCountOf(file: ManifestFile): number {
  return file.chunk_size === undefined ? 0 : Math.ceil(file.length / file.chunk_size)
}

/** Bytes chunk `index` must have: chunk_size, except a shorter last chunk. */
export function chunkLengthOf(file: ManifestFile, index: number): number {
  if (file.chunk_size === undefined) return 0
  return Math.max(0, Math.min(file.chunk_size, file.length - index * file.chunk_size))
}

export function verifyChunkList(sha256: Sha256, file: ManifestFile, chunkListBytes: Uint8Array): Accept<{ chunkHashes: readonly string[] }> {
  if (file.chunk_size === undefined || file.chunk_list_sha256 === undefined) {
    return reject('artifact', 'missing-input', `${file.name} is not a chunked file in its manifest`)
  }
  if (chunkListBytes.length > MAX_CHUNK_LIST_BYTES) {
    return reject('artifact', 'oversized', `The chunk list of ${file.name} is ${chunkListBytes.length} bytes; the cap is ${MAX_CHUNK_LIST_BYTES}`)
  }
  if (encodeHex(sha256(chunkListBytes)) !== file.chunk_list_sha256) {
    return reject('artifact', 'hash-mismatch', `The chunk list of ${file.name} does not match the SHA-256 in the manifest`)
  }
  const parsed = parsePayload(ChunkList, chunkListBytes, 'artifact', `chunk list of ${file.name}`)
  if (parsed.verdict === 'reject') return parsed
  const list = parsed.value
  if (list.sha256 !== file.sha256 || list.chunkSizeBytes !== file.chunk_size) {
    return reject('artifact', 'mix-and-match', `The chunk list of ${file.name} describes another file or chunk size`)
  }
  const expected = chunkCountOf(file)
  if (list.chunks.length !== expected) {
    return reject('artifact', 'length-mismatch', `The chunk list of ${file.name} has ${list.chunks.length} chunks; ${file.length} bytes make ${expected}`)
  }
  return { verdict: 'accept', chunkHashes: list.chunks }
}

export function verifyChunk(sha256: Sha256, file: ManifestFile, chunkHashes: readonly string[], index: number, chunk: Uint8Array): Accept<object> {
  const expectedHash = Number.isSafeInteger(index) && index >= 0 ? chunkHashes[index] : undefined
  if (expectedHash === undefined) return reject('artifact', 'length-mismatch', `Chunk ${index} of ${file.name} is outside its ${chunkHashes.length} chunks`)
  const expectedLength = chunkLengthOf(file, index)
  if (chunk.length !== expectedLength) {
    return reject('artifact', 'length-mismatch', `Chunk ${index} of ${file.name} is ${chunk.length} bytes; it must be ${expectedLength}`)
  }
  if (encodeHex(sha256(chunk)) !== expectedHash) return reject('artifact', 'hash-mismatch', `Chunk ${index} of ${file.name} does not match its hash`)
  return { verdict: 'accept' }
}

/** For a file hashed while streaming: the final length and digest. */
export function verifyFileDigest(file: ManifestFile, lengthBytes: number, sha256Hex: string): Accept<object> {
  if (lengthBytes !== file.length) {
    return reject('artifact', 'length-mismatch', `${file.name} is ${lengthBytes} bytes; the manifest says ${file.length}`)
  }
  if (sha256Hex !== file.sha256) return reject('artifact', 'hash-mismatch', `${file.name} does not match the SHA-256 in the manifest`)
  return { verdict: 'accept' }
}

export function verifyFileBytes(sha256: Sha256, file: ManifestFile, bytes: Uint8Array): Accept<object> {
  if (bytes.length !== file.length) return verifyFileDigest(file, bytes.length, '')
  return verifyFileDigest(file, bytes.length, encodeHex(sha256(bytes)))
}
