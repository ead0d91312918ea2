/**
 * Where key passphrases come from, in order: an explicit string, `--passphrase-file FILE`, then the
 * OUTPOST_KEY_PASSPHRASE environment variable, so CI pipelines never need a terminal.
 */
import { readFile } from 'node:fs/promises'
import { AppError } from '../../../src-shared/errors.ts'

export const PASSPHRASE_ENV = 'OUTPOST_KEY_PASSPHRASE'
/** Offline keys guard the whole fleet; scrypt slows guessing but cannot save a very short passphrase. */
export const MIN_NEW_PASSPHRASE_LENGTH = 8

export interface PassphraseSource {
  passphrase?: string | undefined
  passphraseFile?: string | undefined
  env?: Readonly<Record<string, string | undefined>>
}

/** One trailing newline is what `echo` and editors add; it is not part of the passphrase. */
function withoutTrailingNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2)
  if (text.endsWith('\n')) return text.slice(0, -1)
  return text
}

export async function resolvePassphrase(source: PassphraseSource): Promise<string> {
  let passphrase: string | undefined
  let origin: string
  if (source.passphrase !== undefined) {
    passphrase = source.passphrase
    origin = 'the given passphrase'
  } else if (source.passphraseFile !== undefined) {
    origin = source.passphraseFile
    try {
      passphrase = withoutTrailingNewline(await readFile(source.passphraseFile, 'utf8'))
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown error'
      throw new AppError('not-found', `Cannot read the passphrase file ${source.passphraseFile} (${code})`, { path: source.passphraseFile })
    }
  } else {
    passphrase = (source.env ?? process.env)[PASSPHRASE_ENV]
    origin = PASSPHRASE_ENV
  }
  if (passphrase === undefined) {
    throw new AppError('invalid-input', `No key passphrase: pass --passphrase-file FILE or set ${PASSPHRASE_ENV}`)
  }
  if (passphrase.length === 0) throw new AppError('invalid-input', `The key passphrase from ${origin} is empty`)
  return passphrase
}

export function assertNewPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_NEW_PASSPHRASE_LENGTH) {
    throw new AppError('invalid-input', `A new key passphrase needs at least ${MIN_NEW_PASSPHRASE_LENGTH} characters`)
  }
}
