/** Content addressing: lowercase hex SHA-256 of bytes. */
export interface ContentHasher {
  sha256Hex(bytes: Uint8Array): string
}
