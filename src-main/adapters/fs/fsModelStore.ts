import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { AppError } from '../../../src-shared/errors.ts'
import type { ModelStore } from '../../ports/ModelStore.ts'

/** Model files under `<modelsDir>/<sha256>.onnx`, written once, never modified. */
export function createFsModelStore(modelsDir: string): ModelStore {
  const fileFor = (sha256: string) => {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new AppError('invalid-input', `Not a sha256: ${sha256.slice(0, 80)}`)
    return join(modelsDir, `${sha256}.onnx`)
  }
  let isDirReady = false

  return {
    async write(sha256, bytes) {
      const file = fileFor(sha256)
      if (!isDirReady) {
        mkdirSync(modelsDir, { recursive: true })
        isDirReady = true
      }
      if ((await stat(file).catch(() => undefined))?.size === bytes.byteLength) return
      const temporary = `${file}.${randomBytes(6).toString('hex')}.partial`
      try {
        // A rename is atomic: a reader never sees half a model, even if the process dies mid-write.
        await writeFile(temporary, bytes, { flush: true })
        await rename(temporary, file)
      } catch (error) {
        await rm(temporary, { force: true })
        const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown'
        if (code === 'ENOSPC') throw new AppError('disk-full', `No space left to store the model in ${modelsDir}`, { modelsDir })
        throw error
      }
    },

    async readRange(sha256, offsetBytes, lengthBytes) {
      const file = fileFor(sha256)
      const handle = await open(file, 'r').catch((error: unknown) => {
        throw error instanceof Error && 'code' in error && error.code === 'ENOENT'
          ? new AppError('not-found', `The stored model file ${file} is missing`, { sha256 })
          : error
      })
      try {
        const buffer = Buffer.alloc(lengthBytes)
        let filled = 0
        while (filled < lengthBytes) {
          const { bytesRead } = await handle.read(buffer, filled, lengthBytes - filled, offsetBytes + filled)
          if (bytesRead === 0) throw new AppError('artifact-corrupt', `The stored model file ${file} is shorter than recorded`, { sha256 })
          filled += bytesRead
        }
        return buffer
      } finally {
        await handle.close()
      }
    },

    async readImportFile(path, maxBytes) {
      const info = await stat(path).catch((error: unknown) => {
        throw error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR')
          ? new AppError('not-found', `No file at ${path}`, { path })
          : error
      })
      if (!info.isFile()) throw new AppError('invalid-input', `${path} is not a file`, { path })
      if (info.size > maxBytes) {
        throw new AppError('invalid-input', `${path} is ${info.size} bytes; models up to ${maxBytes} bytes can be imported`, {
          path,
          sizeBytes: info.size,
        })
      }
      return { bytes: await readFile(path), fileName: basename(path) }
    },
  }
}
