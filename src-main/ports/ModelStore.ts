/** Model files on disk, addressed by content (`<dataDir>/models/<sha256>.onnx`). */
export interface ModelStore {
  /** Writes the file atomically (temp file + rename); writing an existing sha256 again is a no-op. */
  write(sha256: string, bytes: Uint8Array): Promise<void>
  /** Reads `lengthBytes` bytes at `offsetBytes`. Throws AppError 'not-found' when the file is gone. */
  readRange(sha256: string, offsetBytes: number, lengthBytes: number): Promise<Uint8Array>
  /**
   * Reads a file the user named for import, up to `maxBytes`. Throws 'not-found' (no such file), 'invalid-input'
   * (a directory, or larger than maxBytes).
   */
  readImportFile(path: string, maxBytes: number): Promise<{ bytes: Uint8Array; fileName: string }>
}
