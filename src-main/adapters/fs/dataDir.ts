/** The control center's data directory: created on first use, checked for writability before anything else. */
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AppError } from '../../../src-shared/errors.ts'

/** Creates the directory if needed and proves it is writable. Throws AppError 'data-dir-unwritable'. */
export function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    const probe = join(dataDir, `.write-check-${process.pid}-${randomBytes(4).toString('hex')}`)
    writeFileSync(probe, '')
    rmSync(probe)
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown'
    throw new AppError(
      'data-dir-unwritable',
      `Cannot write to the data directory ${dataDir} (${code}); fix its permissions or choose another with --data-dir`,
      { dataDir, code },
    )
  }
}

export const BROKER_SECRET_FILE_NAME = 'broker-secret'

/**
 * The control center's password on the embedded broker, random per data directory and readable only by its owner.
 * Created with O_EXCL, so two processes starting together end up with the same secret.
 */
export function readOrCreateBrokerSecret(dataDir: string): string {
  const file = join(dataDir, BROKER_SECRET_FILE_NAME)
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw unwritable(dataDir, file, error)
  }
  try {
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
    const secret = readFileSync(file, 'utf8').trim()
    if (secret.length < 16) {
      throw new AppError('invalid-input', `The broker secret in ${file} is too short; delete the file to generate a new one`, { file })
    }
    return secret
  } catch (error) {
    if (error instanceof AppError) throw error
    throw unwritable(dataDir, file, error)
  }
}

function unwritable(dataDir: string, file: string, error: unknown): AppError {
  const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown'
  return new AppError('data-dir-unwritable', `Cannot create or read ${file} (${code}); fix the permissions of ${dataDir}`, { file, code })
}
