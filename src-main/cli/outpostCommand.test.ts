/** The `outpost` command as a user runs it: real child processes, real exit codes, real streams. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { OUTPOST_BIN, runOutpost, type OutpostRun } from './testing/runOutpost.ts'

let workDir: string
const children: ChildProcess[] = []

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'outpost-command-'))
})
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OUTPOST_DATA_DIR: path.join(workDir, 'default-data') }
  delete env['OUTPOST_URL']
  delete env['OUTPOST_DEBUG']
  return env
}

/** Runs `outpost ARGS` to completion (bounded) and returns its exit code and output. */
function outpost(args: string[], timeoutMs = 20_000): Promise<OutpostRun> {
  return runOutpost(args, { env: childEnv(), cwd: workDir, timeoutMs, onSpawn: (child) => children.push(child) })
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '')
}

describe('outpost command: usage and bad input', () => {
  it('prints usage with --help and exits 0', async () => {
    const result = await outpost(['--help'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/^Usage: outpost <command> \[options\]/)
    expect(result.stdout).toContain('devices list')
    expect(result.stderr).toBe('')
  })

  it('refuses an unknown flag with one line and exit code 2', async () => {
    const result = await outpost(['serve', '--frobnicate'])
    expect(result.exitCode).toBe(2)
    expect(lines(result.stderr)).toEqual(["outpost: error [invalid-input] Unknown option '--frobnicate'; run `outpost serve --help`"])
    expect(result.stdout).toBe('')
  })

  it('refuses a port that is not a number with one line', async () => {
    const result = await outpost(['serve', '--port', 'eighty'])
    expect(result.exitCode).toBe(2)
    expect(lines(result.stderr)).toEqual(["outpost: error [invalid-input] --port must be a port number from 0 to 65535, not 'eighty'"])
  })

  it('says not-found in one line when the data directory has no database', async () => {
    const missing = path.join(workDir, 'never-created')
    const result = await outpost(['devices', 'list', '--data-dir', missing])
    expect(result.exitCode).toBe(1)
    expect(lines(result.stderr)).toEqual([
      `outpost: error [not-found] No Outpost database in ${missing}; run \`outpost serve\` first, or pass --data-dir`,
    ])
  })

  it('says database-corrupt in one line, without a stack, for a damaged database file', async () => {
    const dataDir = path.join(workDir, 'corrupt')
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(path.join(dataDir, 'outpost.db'), 'this is not a SQLite database, just text that fills a page. '.repeat(100))
    for (const args of [['devices', 'list', '--data-dir', dataDir], ['serve', '--data-dir', dataDir, '--port', '0', '--broker-port', '0']]) {
      const result = await outpost(args)
      expect(result.exitCode, args[0]).toBe(1)
      expect(lines(result.stderr).filter((line) => line.startsWith('outpost: ')), args[0]).toEqual([
        expect.stringMatching(/^outpost: error \[database-corrupt\] .*outpost\.db/),
      ])
      expect(result.stderr, args[0]).not.toMatch(/\n\s+at /)
    }
  })

  it('says data-dir-unwritable in one line when the data directory cannot be created', async () => {
    // A path below a regular file cannot be created even by root, unlike a read-only directory.
    const blocker = path.join(workDir, 'a-file')
    writeFileSync(blocker, 'not a directory')
    const result = await outpost(['serve', '--data-dir', path.join(blocker, 'data'), '--port', '0', '--broker-port', '0'])
    expect(result.exitCode).toBe(1)
    expect(lines(result.stderr).filter((line) => line.startsWith('outpost: '))).toEqual([
      expect.stringMatching(/^outpost: error \[data-dir-unwritable\] /),
    ])
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })
})

/** Starts a long-running `outpost ARGS` and resolves once it printed its ready lines (three, or one with --json). */
async function startServing(args: string[], env: NodeJS.ProcessEnv = childEnv()) {
  const readyLineCount = args.includes('--json') ? 1 : 3
  const child = spawn(process.execPath, [OUTPOST_BIN, ...args], { env, cwd: workDir })
  children.push(child)
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const printed: string[] = []
  const stdoutLines = createInterface({ input: child.stdout })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`outpost printed no ready lines; stderr: ${stderr}`)), 25_000)
    stdoutLines.on('line', (line) => {
      printed.push(line)
      if (printed.length === readyLineCount) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then((code) => reject(new Error(`outpost exited with ${code}; stderr: ${stderr}`)))
  })
  return { child, printed, exited, stderr: () => stderr }
}

describe('outpost serve', () => {
  it('prints ready, token and broker lines, answers devices list while running, and stops with exit 0 on SIGTERM', async () => {
    const dataDir = path.join(workDir, 'serve-data')
    const { child, printed, exited } = await startServing([
      'serve', '--data-dir', dataDir, '--port', '0', '--broker-port', '0', '--renderer-dir', workDir,
    ])
    const [ready, tokenLine, brokerLine] = printed
    const match = /^ready http:\/\/127\.0\.0\.1:(\d+)\/#token=([A-Za-z0-9_-]{43})$/.exec(ready ?? '')
    expect(match, ready).not.toBeNull()
    expect(tokenLine).toBe(`token ${match?.[2]}`)
    expect(brokerLine).toMatch(/^broker mqtt:\/\/127\.0\.0\.1:\d+$/)

    const health = await fetch(`http://127.0.0.1:${match?.[1]}/healthz`)
    expect(await health.json()).toEqual({ ok: true })

    const listed = await outpost(['devices', 'list', '--data-dir', dataDir, '--json'])
    expect(listed.exitCode).toBe(0)
    expect(JSON.parse(listed.stdout)).toEqual([])

    const enrolled = await outpost(['devices', 'enroll', 'd-1', '--data-dir', dataDir, '--json'])
    expect(enrolled.exitCode, enrolled.stderr).toBe(0)
    const listedAgain = await outpost(['devices', 'list', '--data-dir', dataDir, '--json'])
    expect((JSON.parse(listedAgain.stdout) as Array<{ deviceId: string }>).map((device) => device.deviceId)).toEqual(['d-1'])

    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('start says in one line that Electron is missing, then serves headless', async () => {
    const emptyDist = path.join(workDir, 'no-electron-here')
    mkdirSync(emptyDist, { recursive: true })
    const { child, printed, exited, stderr } = await startServing(
      ['start', '--data-dir', path.join(workDir, 'start-data'), '--port', '0', '--broker-port', '0', '--json'],
      { ...childEnv(), ELECTRON_OVERRIDE_DIST_PATH: emptyDist },
    )
    expect(JSON.parse(printed[0] ?? '')).toMatchObject({ ready: true, url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/#token=/) })
    const notices = lines(stderr()).filter((line) => line.startsWith('Electron runtime'))
    expect(notices).toEqual([
      `Electron runtime not available on this machine (no Electron binary at ${path.join(emptyDist, 'electron')}); serving the same UI in headless mode.`,
    ])
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  })

  it('fails with port-in-use in one line when the HTTP port is taken', async () => {
    const { createServer } = await import('node:net')
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const result = await outpost(['serve', '--data-dir', path.join(workDir, 'busy-data'), '--port', String(port), '--broker-port', '0'])
      expect(result.exitCode).toBe(1)
      expect(lines(result.stderr).filter((line) => line.startsWith('outpost: '))).toEqual([
        `outpost: error [port-in-use] Port ${port} on 127.0.0.1 is in use; pass --port <n>`,
      ])
    } finally {
      blocker.close()
    }
  })
})
