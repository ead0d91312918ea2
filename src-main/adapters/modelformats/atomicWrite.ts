/** Atomic file writes: a temp file in the destination folder, fsync, then rename over the target. */
import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { AppError } from '../../../src-shared/errors.ts'

/** A temp path next to `target`, so that the final rename never crosses file systems. */
export function tempPathFor(target: string): string {
  return join(dirname(resolve(target)), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
}

function writeFailure(error: unknown, target: string): AppError {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOSPC') return new AppError('disk-full', `The disk is full; ${target} was not written`, { path: target })
  if (code === 'ENOENT') return new AppError('invalid-input', `The folder for ${target} does not exist`, { path: target })
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new AppError('invalid-input', `${target} cannot be written here (${code})`, { path: target })
  return new AppError('internal', `Writing ${target} failed (${code ?? 'unknown error'})`, { path: target })
}

/** Writes bytes to `target` atomically: readers see the old file or the complete new one, never a partial one. */
export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  const temp = tempPathFor(target)
  try {
    const handle = await open(temp, 'wx', 0o644)
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, target)
  } catch (error) {
    await rm(temp, { force: true })
    throw error instanceof AppError ? error : writeFailure(error, target)
  }
}

export interface FileRecipeResult<Report> {
  outputPath: string
  sourceSizeBytes: number
  outputSizeBytes: number
  report: Report
}

/** Refuses to write over the source: recipes never touch their input. */
export function assertDistinctOutput(inputPath: string, outputPath: string): void {
  if (resolve(inputPath) === resolve(outputPath)) {
    throw new AppError('invalid-input', 'The output path is the source model itself; choose another output file', { inputPath, outputPath })
  }
}
