/** Pull-based chunk transfer planning (anchors-security.md §10.10: window of outstanding requests, per-chunk hashes). Pure. */
import type { ArtifactRef, ChunkList } from '../../../src-shared/protocol/messages.ts'

export const DEFAULT_CHUNK_WINDOW = 8

/** Byte range of chunk `index` inside an artifact of `sizeBytes`; the last chunk is usually shorter. */
export function chunkByteRange(index: number, chunkSizeBytes: number, sizeBytes: number): { offsetBytes: number; lengthBytes: number } {
  const offsetBytes = index * chunkSizeBytes
  return { offsetBytes, lengthBytes: Math.max(0, Math.min(chunkSizeBytes, sizeBytes - offsetBytes)) }
}

export function expectedChunkCount(sizeBytes: number, chunkSizeBytes: number): number {
  return Math.ceil(sizeBytes / chunkSizeBytes)
}

/** Checks that a chunk list (already hash-verified) describes exactly the artifact the directive names. */
export function chunkListMismatch(artifact: ArtifactRef, chunkList: ChunkList): string | undefined {
  if (chunkList.sha256 !== artifact.sha256) return 'chunk list names another artifact'
  if (chunkList.chunkSizeBytes !== artifact.chunkSizeBytes) return 'chunk list chunk size differs from the directive'
  if (artifact.chunkCount !== expectedChunkCount(artifact.sizeBytes, artifact.chunkSizeBytes)) return 'directive chunk count does not match its size'
  if (chunkList.chunks.length !== artifact.chunkCount) return 'chunk list length differs from the directive chunk count'
  return undefined
}

/**
 * The next chunk indices to request: the lowest ones neither verified nor outstanding, so that at most `windowSize`
 * requests are outstanding at once.
 */
export function planChunkRequests(input: {
  chunkCount: number
  verified: ReadonlySet<number>
  outstanding: ReadonlySet<number>
  windowSize: number
}): number[] {
  const free = input.windowSize - input.outstanding.size
  const next: number[] = []
  for (let index = 0; index < input.chunkCount && next.length < free; index++) {
    if (!input.verified.has(index) && !input.outstanding.has(index)) next.push(index)
  }
  return next
}

/** Bytes covered by the verified chunks. */
export function verifiedByteCount(verified: ReadonlySet<number>, chunkSizeBytes: number, sizeBytes: number): number {
  let bytes = 0
  for (const index of verified) bytes += chunkByteRange(index, chunkSizeBytes, sizeBytes).lengthBytes
  return bytes
}

/** Fraction of the artifact's bytes verified so far, 0..1. */
export function verifiedFraction(verified: ReadonlySet<number>, chunkSizeBytes: number, sizeBytes: number): number {
  return sizeBytes === 0 ? 1 : Math.min(1, verifiedByteCount(verified, chunkSizeBytes, sizeBytes) / sizeBytes)
}
