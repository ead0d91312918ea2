/** How a model file is cut into pulled pieces (anchors-security.md §10.10: 128 KiB chunks, hashed each). Pure. */
import type { ChunkList } from '../../../src-shared/protocol/messages.ts'
import { PROTOCOL_VERSION } from '../../../src-shared/protocol/messages.ts'

export function chunkCount(sizeBytes: number, chunkSizeBytes: number): number {
  return Math.ceil(sizeBytes / chunkSizeBytes)
}

/** Byte range of chunk `index`, or undefined when the artifact has no such chunk. */
export function chunkRange(
  index: number,
  sizeBytes: number,
  chunkSizeBytes: number,
): { offsetBytes: number; lengthBytes: number } | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= chunkCount(sizeBytes, chunkSizeBytes)) return undefined
  const offsetBytes = index * chunkSizeBytes
  return { offsetBytes, lengthBytes: Math.min(chunkSizeBytes, sizeBytes - offsetBytes) }
}

/**
 * The chunk list in its canonical form. Its JSON text, exactly as stored, is what devices receive and hash, so the
 * key order here is part of the protocol.
 */
export function buildChunkList(sha256: string, chunkSizeBytes: number, chunkSha256s: readonly string[]): ChunkList {
  return { v: PROTOCOL_VERSION, sha256, chunkSizeBytes, chunks: [...chunkSha256s] }
}

/** Model ids are derived from content, so importing the same bytes twice yields the same model. */
export function modelIdFromSha256(sha256: string): string {
  return `m-${sha256.slice(0, 12)}`
}

/** 'tiny-classifier.onnx' -> 'tiny-classifier'; the display name when the user gives none. */
export function modelNameFromFileName(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName
  const withoutExtension = base.replace(/\.[A-Za-z0-9]{1,8}$/, '')
  const name = (withoutExtension || base || 'model').slice(0, 128)
  return name
}
