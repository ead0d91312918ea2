/** Test support: runs the real `outpost` command as a child process, bounded in time. */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const OUTPOST_BIN = fileURLToPath(new URL('../../../bin/outpost.js', import.meta.url))

export interface OutpostRun {
  exitCode: number | null
  stdout: string
  stderr: string
}

export interface RunOutpostOptions {
  env: NodeJS.ProcessEnv
  cwd: string
  timeoutMs: number
  /** Lets a test keep the child, to kill it in afterEach should the test fail early. */
  onSpawn?: (child: ChildProcess) => void
}

/** Runs `outpost ARGS` to completion and returns its exit code and output; rejects (and kills it) past the timeout. */
export function runOutpost(args: string[], options: RunOutpostOptions): Promise<OutpostRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [OUTPOST_BIN, ...args], { env: options.env, cwd: options.cwd })
    options.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`outpost ${args.join(' ')} did not finish within ${options.timeoutMs} ms; stderr: ${stderr}`))
    }, options.timeoutMs)
    child.on('error', reject)
    child.on('close', (exitCode) => {
      clearTimeout(timer)
      resolve({ exitCode, stdout, stderr })
    })
  })
}

/** The non-empty lines of a command's output. */
export const outputLines = (text: string) => text.split('\n').filter((line) => line !== '')
