/**
 * The release bundle is a folder, content-addressed by the signed manifest:
 *
 *   BUNDLE/release.json                 the release envelope (manifest payload + release signatures)
 *   BUNDLE/files/<name>                 every file the manifest lists, checked by length and SHA-256
 *   BUNDLE/chunks/<sha256>.json         the chunk list of each chunked file, named by its own SHA-256
 *
 * A folder (rather than an archive) lets each signer add a signature by rewriting one small file, and lets the
 * control center and devices stream and check each file and chunk without unpacking anything first.
 */
import { isSafeFileName } from '../../../src-shared/trust/metadata.ts'

export const RELEASE_FILE = 'release.json'
export const FILES_DIR = 'files'
export const CHUNKS_DIR = 'chunks'

export function chunkListFileName(chunkListSha256: string): string {
  return `${chunkListSha256}.json`
}

/**
 * The relative paths a bundle may contain, for uploads: release.json, files/NAME with NAME a safe file name, or
 * chunks/<sha256>.json. Returns the path's segments, or undefined for anything else.
 */
export function parseBundlePath(path: string): readonly [string] | readonly [string, string] | undefined {
  if (path === RELEASE_FILE) return [RELEASE_FILE]
  const match = /^(files|chunks)\/([^/]+)$/.exec(path)
  if (match === null) return undefined
  const [, folder = '', name = ''] = match
  const isAllowed = folder === FILES_DIR ? isSafeFileName(name) : /^[0-9a-f]{64}\.json$/.test(name)
  return isAllowed ? [folder, name] : undefined
}
