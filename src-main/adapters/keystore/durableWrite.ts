/**
 * Durable file writes for key material (anchors-security.md §10.7): temp file → fsync → rename (or link, to
 * refuse overwriting) → fsync of the folder, so a power cut leaves the old file or the whole new one.
 */
import { randomBytes } from 'node:crypto'
import { link, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { AppError } from '../../../src-shared/errors.ts'

export interface DurableWriteOptions {
  /** File mode; key files are 0600. */
  mode: number
  /** When false, an existing file is an error and is left untouched. */
  overwrite: boolean
}

function errnoOf(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}

function writeFailure(error: unknown, target: string): AppError {
  const code = errnoOf(error)
  if (code === 'EEXIST') return new AppError('conflict', `${target} already exists; refusing to overwrite key material`, { path: target })
  if (code === 'ENOSPC') return new AppError('disk-full', `The disk is full; ${target} was not written`, { path: target })
  if (code === 'ENOENT') return new AppError('invalid-input', `The folder for ${target} does not exist`, { path: target })
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AppError('data-dir-unwritable', `${target} cannot be written (${code}); check the folder's permissions`, { path: target })
  }
  return new AppError('internal', `Writing ${target} failed (${code ?? 'unknown error'})`, { path: target })
}

export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export async function writeFileDurably(target: string, bytes: Uint8Array, options: DurableWriteOptions): Promise<void> {
  const absolute = resolve(target)
  const directory = dirname(absolute)
  const temp = join(directory, `.${basename(absolute)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const handle = await open(temp, 'wx', options.mode)
    try {
      await handle.chmod(options.mode)
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (options.overwrite) {
      await rename(temp, absolute)
    } else {
      // link() fails with EEXIST instead of replacing, which rename() cannot do.
      await link(temp, absolute)
      await rm(temp, { force: true })
    }
    await syncDirectory(directory)
  } catch (error) {
    await rm(temp, { force: true })
    throw error instanceof AppError ? error : writeFailure(error, absolute)
  }
}
