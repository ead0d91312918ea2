import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'
import { AppError } from '../../src-shared/errors.ts'

/** A mistake on the command line itself: exit code 2, as POSIX tools do. */
export class UsageError extends AppError {
  constructor(message: string) {
    super('invalid-input', message)
  }
}

const helpOption = { help: { type: 'boolean', short: 'h' } } as const

/**
 * node:util parseArgs in strict mode, with its error messages rewritten into one sentence that names the command
 * and how to get help. `--help` is accepted by every command.
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  command: string,
  args: readonly string[],
  options: O,
  allowPositionals: boolean,
) {
  try {
    return parseArgs({ args: [...args], options: { ...options, ...helpOption }, strict: true, allowPositionals })
  } catch (error) {
    throw new UsageError(`${describeParseError(error)}; run \`outpost ${command} --help\``)
  }
}

function describeParseError(error: unknown): string {
  if (!(error instanceof Error)) return 'Could not read the command line'
  const code = (error as NodeJS.ErrnoException).code
  const quoted = /'([^']*)'/.exec(error.message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `Unknown option '${quoted ?? '?'}'`
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `Unexpected argument '${quoted ?? '?'}'`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = quoted?.split(' ')[0] ?? 'an option'
    return error.message.includes('argument missing') ? `Option '${flag}' needs a value` : `Option '${flag}' takes no value`
  }
  return error.message.split('\n')[0] ?? 'Could not read the command line'
}

/** A TCP port from a flag: 0 (pick a free one) to 65535. */
export function parsePort(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isInteger(port) || port > 65_535) {
    throw new UsageError(`--${flag} must be a port number from 0 to 65535, not '${value}'`)
  }
  return port
}

/** A whole number from a flag, within bounds. */
export function parseCount(value: string, flag: string, min: number, max: number): number {
  const count = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isInteger(count) || count < min || count > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, not '${value}'`)
  }
  return count
}

/** An environment variable's value, treating empty as unset. */
export function envValue(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value
}
