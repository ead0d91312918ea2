/** Node child processes for benchmarks: line-oriented stdout, a bounded stderr tail, and a stop that always ends them. */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { AppError } from '../../src-shared/errors.ts'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

const STDERR_TAIL_CHARS = 4000
const STOP_GRACE_MS = 3000

export interface NodeChild {
  readonly pid: number
  /** Resolves with the first stdout line (past or future) matching `pattern`; rejects on exit or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>
  /** The last few KB the child wrote to stderr, for error messages. */
  stderrTail(): string
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>
}

/** Runs `node <args>` from the repository root with the same Node binary as this process. */
export function spawnNode(args: readonly string[], env: Record<string, string> = {}): NodeChild {
  const child: ChildProcess = spawn(process.execPath, [...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid
  if (pid === undefined) throw new AppError('unavailable', `Could not start node ${args.join(' ')}`)
  const lines: string[] = []
  const waiters = new Set<() => void>()
  let stdoutRest = ''
  let stderr = ''
  let exitCode: number | null | undefined
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code
      for (const wake of waiters) wake()
      resolve()
    })
  })
  child.stdout?.setEncoding('utf8')
  child.stdout?.on('data', (text: string) => {
    const parts = (stdoutRest + text).split('\n')
    stdoutRest = parts.pop() ?? ''
    lines.push(...parts)
    for (const wake of waiters) wake()
  })
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL_CHARS)
  })

  let stopping: Promise<void> | undefined
  return {
    pid,
    stderrTail: () => stderr,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find((candidate) => pattern.test(candidate))
          if (line !== undefined) return finish(() => resolve(line))
          if (exitCode !== undefined) {
            finish(() => reject(new AppError('unavailable', `node ${args[0] ?? ''} exited (${exitCode}) before printing ${pattern}: ${stderr.slice(-500)}`)))
          }
        }
        const timer = setTimeout(
          () => finish(() => reject(new AppError('timeout', `node ${args[0] ?? ''} printed no ${pattern} within ${timeoutMs} ms: ${stderr.slice(-500)}`))),
          timeoutMs,
        )
        const finish = (settle: () => void) => {
          clearTimeout(timer)
          waiters.delete(check)
          settle()
        }
        waiters.add(check)
        check()
      })
    },
    stop() {
      stopping ??= (async () => {
        if (exitCode !== undefined) return
        child.kill('SIGTERM')
        const killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
        await exited
        clearTimeout(killTimer)
      })()
      return stopping
    },
  }
}

/** Resident set size of a process in bytes: /proc/<pid>/status VmRSS on Linux. */
export async function readRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => {
    throw new AppError('unavailable', `Cannot read /proc/${pid}/status: resident memory is measured on Linux only`)
  })
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (!match?.[1]) throw new AppError('unavailable', `/proc/${pid}/status has no VmRSS line`)
  return Number(match[1]) * 1024
}
