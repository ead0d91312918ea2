import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { contentTypeFor } from '../core/web/contentTypes.ts'

export type StaticLookup =
  | { kind: 'file'; filePath: string; sizeBytes: number; isFallback: boolean; isImmutable: boolean }
  | { kind: 'not-found' }
  | { kind: 'refused' }

/**
 * Maps a request path to a file inside `rootDir`. Decoded segments that climb out of the root ('..', encoded
 * slashes, NUL) are refused. A path without an extension that names no file is a client-side route and gets
 * index.html; a missing asset (with an extension) is a plain 404 so a broken build is not masked by HTML.
 */
export async function lookupStaticFile(rootDir: string, urlPath: string): Promise<StaticLookup> {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return { kind: 'refused' }
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { kind: 'refused' }
  const root = path.resolve(rootDir)
  const candidate = path.resolve(root, '.' + path.posix.normalize('/' + decoded))
  const relative = path.relative(root, candidate)
  if (relative.startsWith('..') || path.isAbsolute(relative) || decoded.split('/').includes('..')) return { kind: 'refused' }

  const direct = await fileAt(relative === '' ? path.join(root, 'index.html') : candidate)
  // vite puts content-hashed files under assets/: their name changes whenever their bytes do.
  const isImmutable = relative.split(path.sep)[0] === 'assets'
  if (direct) return { kind: 'file', filePath: direct.filePath, sizeBytes: direct.sizeBytes, isFallback: false, isImmutable }
  if (path.extname(candidate) !== '') return { kind: 'not-found' }
  const index = await fileAt(path.join(root, 'index.html'))
  if (index) return { kind: 'file', filePath: index.filePath, sizeBytes: index.sizeBytes, isFallback: true, isImmutable: false }
  return { kind: 'not-found' }
}

async function fileAt(filePath: string): Promise<{ filePath: string; sizeBytes: number } | undefined> {
  try {
    const stats = await stat(filePath)
    if (stats.isFile()) return { filePath, sizeBytes: stats.size }
    if (stats.isDirectory()) {
      const index = path.join(filePath, 'index.html')
      const indexStats = await stat(index)
      if (indexStats.isFile()) return { filePath: index, sizeBytes: indexStats.size }
    }
    return undefined
  } catch {
    return undefined
  }
}

/** Streams a looked-up file. Hashed assets may be cached for good; everything else is revalidated. */
export function sendStaticFile(
  request: IncomingMessage,
  response: ServerResponse,
  file: Extract<StaticLookup, { kind: 'file' }>,
): void {
  const { filePath, sizeBytes } = file
  response.statusCode = 200
  response.setHeader('Content-Type', contentTypeFor(filePath))
  response.setHeader('Content-Length', sizeBytes)
  response.setHeader('Cache-Control', file.isImmutable ? 'public, max-age=31536000, immutable' : 'no-cache')
  if (request.method === 'HEAD') {
    response.end()
    return
  }
  const stream = createReadStream(filePath)
  stream.on('error', () => response.destroy())
  stream.pipe(response)
}
