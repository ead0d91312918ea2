import type { Logger } from './rpc/types.ts'

export type LogLevel = 'info' | 'warn' | 'error' | 'silent'
const rank: Record<LogLevel, number> = { info: 0, warn: 1, error: 2, silent: 3 }

/**
 * A small structured logger writing one line per entry to the console's error stream, so a command's stdout
 * stays clean for `--json` output. Stacks are logged here, in the process where the failure happened, and
 * never sent across a transport.
 */
export function createLogger(scope: string, level: LogLevel = 'info'): Logger {
  const write = (entryLevel: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>, error?: unknown) => {
    if (rank[entryLevel] < rank[level]) return
    const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''
    const stack = error instanceof Error ? `\n${error.stack ?? error.message}` : error === undefined ? '' : ` ${String(error)}`
    console.error(`${new Date().toISOString()} ${entryLevel.padEnd(5)} [${scope}] ${message}${suffix}${stack}`)
  }
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, error, fields) => write('error', message, fields, error),
  }
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} }
