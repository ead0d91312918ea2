import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CliContext } from './cliContext.ts'
import { parseCommandLine } from './flags.ts'
import { hostFlags, resolveHostSettings, runStart } from './hostCommands.ts'

let workDir: string

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'outpost-start-'))
})
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

function contextWith(env: Record<string, string>): CliContext & { stderrLines: string[] } {
  const stderrLines: string[] = []
  return {
    env,
    cwd: workDir,
    stdout: () => {},
    stderr: (text) => stderrLines.push(text),
    shutdownSignal: new AbortController().signal,
    stderrLines,
  }
}

describe('runStart with an Electron runtime', () => {
  it('runs the binary on the built main entry with the flags, broker secrets in the environment, and returns its exit code', async () => {
    const distDir = path.join(workDir, 'dist')
    mkdirSync(distDir, { recursive: true })
    const recordFile = path.join(workDir, 'electron-run.json')
    const executable = path.join(distDir, 'electron')
    // A stand-in for the Electron binary: records what it was given, then exits with a code the caller must pass on.
    writeFileSync(
      executable,
      `#!${process.execPath}\nrequire('node:fs').writeFileSync(${JSON.stringify(recordFile)}, JSON.stringify({ ` +
        `args: process.argv.slice(2), password: process.env.OUTPOST_BROKER_PASSWORD ?? null, ` +
        `runAsNode: process.env.ELECTRON_RUN_AS_NODE ?? null }))\nprocess.exit(3)\n`,
    )
    // The stand-in has no extension; pin its module type so Node runs it as CommonJS wherever the temp dir is.
    writeFileSync(path.join(workDir, 'package.json'), '{"type":"commonjs"}')
    chmodSync(executable, 0o755)
    const mainEntry = path.join(workDir, 'main-index.js')
    writeFileSync(mainEntry, '')
    const context = contextWith({ DISPLAY: ':0', ELECTRON_OVERRIDE_DIST_PATH: distDir, ELECTRON_RUN_AS_NODE: '1' })

    const exitCode = await runStart(
      ['--broker', 'mqtt://broker.example:1883', '--broker-password', 'hunter2', '--demo'],
      context,
      { packageDir: path.join(workDir, 'no-electron-package'), mainEntry, platform: 'linux' },
    )

    expect(exitCode).toBe(3)
    expect(context.stderrLines).toEqual([])
    const recorded = JSON.parse(readFileSync(recordFile, 'utf8')) as { args: string[]; password: string | null; runAsNode: string | null }
    expect(recorded.args).toEqual([mainEntry, '--broker', 'mqtt://broker.example:1883', '--demo', '--data-dir', expect.any(String)])
    expect(recorded.password).toBe('hunter2')
    expect(recorded.runAsNode).toBeNull()
  })
})

describe('resolveHostSettings', () => {
  const settingsFor = (args: string[], env: Record<string, string> = {}) =>
    resolveHostSettings(parseCommandLine('serve', args, hostFlags, false).values, contextWith({ OUTPOST_DATA_DIR: '/srv/outpost', ...env }))

  it('defaults to loopback, port 7420, the embedded broker on 1883 and the data directory from the environment', () => {
    expect(settingsFor([])).toMatchObject({
      dataDir: '/srv/outpost',
      host: '127.0.0.1',
      port: 7420,
      broker: { kind: 'embedded', host: '127.0.0.1', port: 1883 },
      isDemo: false,
    })
  })

  it('takes an external broker and its credentials from flags or the environment', () => {
    expect(settingsFor(['--broker', 'mqtts://b.example:8883', '--broker-username', 'cc'], { OUTPOST_BROKER_PASSWORD: 'pw' }).broker).toEqual({
      kind: 'external',
      url: 'mqtts://b.example:8883',
      username: 'cc',
      password: 'pw',
    })
  })

  it('resolves a relative data directory against the working directory', () => {
    expect(settingsFor(['--data-dir', 'fleet']).dataDir).toBe(path.join(workDir, 'fleet'))
  })
})
