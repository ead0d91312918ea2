/** Bytes per String.fromCharCode call: below every engine's argument-count limit. */
const CHUNK_BYTES = 0x8000

interface WithNativeBase64 {
  toBase64?: () => string
}

/** Base64 for the 'models.upload' call (bytes travel as base64 on the wire, anchors-aesthetics.md §4.4). */
export function bytesToBase64(bytes: Uint8Array): string {
  // Uint8Array.prototype.toBase64 (Chromium 140+) avoids building a binary string of the whole model.
  const native = (bytes as WithNativeBase64).toBase64
  if (typeof native === 'function') return native.call(bytes)
  const parts: string[] = []
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    parts.push(String.fromCharCode(...bytes.subarray(offset, offset + CHUNK_BYTES)))
  }
  return btoa(parts.join(''))
}
