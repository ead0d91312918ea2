import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src-shared/log.ts'
import { startHeadlessServer, type HeadlessServer } from '../headless/startHeadlessServer.ts'
import { createTestBackend } from '../headless/testBackend.ts'
import type { CliContext } from './cliContext.ts'
import { parseControlCenterUrl } from './connectToControlCenter.ts'
import { findElectronRuntime } from './findElectronRuntime.ts'
import { runCli } from './runCli.ts'
import { writeServerFile } from './serverFile.ts'

let workDir: string
let server: HeadlessServer
let backend: ReturnType<typeof createTestBackend>

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'outpost-cli-'))
})
afterAll(() => rmSync(workDir, { recursive: true, force: true }))
afterEach(async () => server?.close())

async function startServer() {
  backend = createTestBackend()
  server = await startHeadlessServer({ backend, log: silentLogger, port: 0, rendererDir: workDir })
  return server
}

/** Runs one command line in process and collects what it printed. */
async function run(argv: string[], env: Record<string, string> = {}) {
  const stdout: string[] = []
  const stderr: string[] = []
  const context: CliContext = {
    env: { OUTPOST_DATA_DIR: path.join(workDir, 'default-data'), ...env },
    cwd: workDir,
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    shutdownSignal: new AbortController().signal,
  }
  const exitCode = await runCli(argv, context)
  return { exitCode, stdout: stdout.join('\n'), stderr: stderr.join('\n'), stderrLines: stderr }
}

describe('runCli: usage and errors', () => {
  it('prints the usage of every command with --help and exits 0', async () => {
    for (const argv of [['--help'], ['serve', '--help'], ['start', '-h'], ['devices', '--help'], ['devices', 'list', '--help'],
      ['devices', 'enroll', '--help'], ['models', 'import', '--help'], ['models', 'list', '--help'],
      ['models', 'deploy', '--help'], ['status', '--help']]) {
      const result = await run(argv)
      expect(result.exitCode, argv.join(' ')).toBe(0)
      expect(result.stdout, argv.join(' ')).toMatch(/^Usage: outpost/)
    }
  })

  it('reports a mistake on the command line as one line with exit code 2', async () => {
    for (const argv of [[], ['launch'], ['devices'], ['devices', 'remove'], ['serve', '--port', '70000'], ['serve', '--port', 'abc'],
      ['serve', '--broker', 'mqtt://x', '--broker-port', '1'], ['serve', '--token', 'short'], ['devices', 'enroll'],
      ['devices', 'enroll', 'bad/id'], ['devices', 'enroll', '--count', '0'], ['models', 'deploy', 'm-000000000001']]) {
      const result = await run(argv)
      expect(result.exitCode, argv.join(' ')).toBe(2)
      expect(result.stderrLines, argv.join(' ')).toHaveLength(1)
      expect(result.stderr, argv.join(' ')).toMatch(/^outpost: error \[invalid-input\] \S/)
    }
  })

  it('names the unknown option and how to get help', async () => {
    const result = await run(['devices', 'list', '--colour'])
    expect(result.stderr).toBe("outpost: error [invalid-input] Unknown option '--colour'; run `outpost devices list --help`")
  })
})

describe('runCli: commands over a running control center', () => {
  it('enrolls a device through --url and prints its credentials', async () => {
    await startServer()
    const result = await run(['devices', 'enroll', 'd-1', '--url', server.uiUrl, '--json'])
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual([{ deviceId: 'd-1', username: 'd-1', password: 'secret-d-1', brokerUrl: 'mqtt://127.0.0.1:1' }])
    expect((await backend.handlers['devices.list']({}, { connectionId: 'test' })).map((device) => device.deviceId)).toEqual(['d-1'])
  })

  it('enrolls --count devices into a credentials file the agent can read, mode 0600', async () => {
    await startServer()
    const outFile = path.join(workDir, 'creds.json')
    const result = await run(['devices', 'enroll', '--count', '3', '--prefix', 'edge-', '--out', 'creds.json', '--url', server.uiUrl])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).not.toContain('secret-')
    expect(JSON.parse(readFileSync(outFile, 'utf8'))).toEqual({
      devices: ['edge-1', 'edge-2', 'edge-3'].map((id) => ({ deviceId: id, username: id, password: `secret-${id}` })),
    })
    expect(statSync(outFile).mode & 0o777).toBe(0o600)
  })

  it('finds the control center through the file serve leaves in the data directory, and through OUTPOST_URL', async () => {
    await startServer()
    const dataDir = path.join(workDir, 'served-data')
    mkdirSync(dataDir, { recursive: true })
    writeServerFile(dataDir, { uiUrl: server.uiUrl, rpcUrl: server.rpcUrl, token: server.token, pid: 1, startedAt: '2025-01-01T00:00:00Z' })
    const viaFile = await run(['devices', 'enroll', 'd-2', '--data-dir', dataDir])
    expect(viaFile.exitCode).toBe(0)
    expect(viaFile.stdout).toContain('secret-d-2')
    const viaEnv = await run(['status', '--json'], { OUTPOST_URL: server.uiUrl })
    expect(viaEnv.exitCode).toBe(0)
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ host: 'headless', devices: { total: 1, online: 0 }, modelCount: 0 })
  })

  it('imports a model by absolute path, lists it and deploys it', async () => {
    await startServer()
    const imported = await run(['models', 'import', 'models/tiny.onnx', '--name', 'tiny', '--version', '2.0.0', '--url', server.uiUrl, '--json'])
    expect(imported.exitCode).toBe(0)
    expect(backend.importedPaths).toEqual([path.join(workDir, 'models', 'tiny.onnx')])
    const model = JSON.parse(imported.stdout) as { modelId: string; name: string; version: string }
    expect(model).toMatchObject({ name: 'tiny', version: '2.0.0' })
    const listed = await run(['models', 'list', '--url', server.uiUrl])
    expect(listed.stdout).toContain(model.modelId)
    const deployed = await run(['models', 'deploy', model.modelId, '--device', 'd-1', '--device', 'd-2', '--url', server.uiUrl, '--json'])
    expect(JSON.parse(deployed.stdout)).toEqual({ directives: [{ deviceId: 'd-1', seq: 1 }, { deviceId: 'd-2', seq: 2 }] })
    const unknown = await run(['models', 'deploy', 'm-0000000000ff', '--device', 'd-1', '--url', server.uiUrl])
    expect(unknown).toMatchObject({ exitCode: 1, stderr: 'outpost: error [not-found] Model m-0000000000ff is not imported' })
  })

  it('says the token was refused, or that no control center runs, in one line', async () => {
    await startServer()
    const wrongToken = await run(['status', '--url', `${server.origin}/#token=wrong-token-0123456789`])
    expect(wrongToken.exitCode).toBe(1)
    expect(wrongToken.stderr).toMatch(/^outpost: error \[unauthorized\] .*refused the access token/)
    const noServer = await run(['models', 'list', '--data-dir', path.join(workDir, 'nothing-here')])
    expect(noServer.exitCode).toBe(1)
    expect(noServer.stderrLines).toHaveLength(1)
    expect(noServer.stderr).toMatch(/^outpost: error \[unavailable\] No control center is running for data directory .*outpost serve/)
    await server.close()
    const gone = await run(['status', '--url', server.uiUrl])
    expect(gone.stderr).toMatch(/^outpost: error \[unavailable\] Could not reach the control center at ws:\/\/127\.0\.0\.1:\d+\/rpc/)
  })
})

describe('parseControlCenterUrl', () => {
  it('turns the printed address into the socket address and token', () => {
    expect(parseControlCenterUrl('http://127.0.0.1:7420/#token=abc', undefined, '--url')).toMatchObject({
      rpcUrl: 'ws://127.0.0.1:7420/rpc',
      token: 'abc',
    })
    expect(parseControlCenterUrl('https://fleet.example/#token=abc', 'override', '--url')).toMatchObject({
      rpcUrl: 'wss://fleet.example/rpc',
      token: 'override',
    })
    expect(parseControlCenterUrl('ws://[::1]:9/rpc', 't', '--url').rpcUrl).toBe('ws://[::1]:9/rpc')
  })

  it('refuses an address without a token or with another scheme', () => {
    expect(() => parseControlCenterUrl('http://127.0.0.1:7420/', undefined, '--url')).toThrow(/carries no access token/)
    expect(() => parseControlCenterUrl('ftp://x/#token=a', undefined, '--url')).toThrow(/must start with http/)
    expect(() => parseControlCenterUrl('not a url', undefined, 'OUTPOST_URL')).toThrow(/OUTPOST_URL must be an address/)
  })
})

describe('findElectronRuntime', () => {
  function electronPackage(name: string, files: Record<string, string>) {
    const dir = path.join(workDir, name)
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
      writeFileSync(path.join(dir, file), content)
    }
    return dir
  }
  const mainEntry = () => {
    const file = path.join(workDir, 'out-main', 'index.js')
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, '')
    return file
  }

  it('reports a package whose binary was never downloaded, without downloading it', () => {
    const packageDir = electronPackage('electron-bare', { 'package.json': '{}' })
    expect(findElectronRuntime({ env: {}, packageDir, platform: 'linux', mainEntry: mainEntry() })).toEqual({
      isAvailable: false,
      reason: 'the electron package has no downloaded binary',
    })
  })

  it('finds the binary named by path.txt, and honours ELECTRON_OVERRIDE_DIST_PATH', () => {
    const packageDir = electronPackage('electron-full', { 'path.txt': 'electron', 'dist/electron': '' })
    const entry = mainEntry()
    expect(findElectronRuntime({ env: { DISPLAY: ':0' }, packageDir, platform: 'linux', mainEntry: entry })).toEqual({
      isAvailable: true,
      executablePath: path.join(packageDir, 'dist', 'electron'),
      mainEntry: entry,
    })
    const overrideDir = electronPackage('electron-override', { electron: '' })
    const overridden = findElectronRuntime({
      env: { DISPLAY: ':0', ELECTRON_OVERRIDE_DIST_PATH: overrideDir },
      packageDir: electronPackage('electron-bare-2', { 'package.json': '{}' }),
      platform: 'linux',
      mainEntry: entry,
    })
    expect(overridden).toMatchObject({ isAvailable: true, executablePath: path.join(overrideDir, 'electron') })
  })

  it('needs the built app and, on Linux, a display', () => {
    const packageDir = electronPackage('electron-full-2', { 'path.txt': 'electron', 'dist/electron': '' })
    const missingMain = findElectronRuntime({ env: { DISPLAY: ':0' }, packageDir, platform: 'linux', mainEntry: path.join(workDir, 'nope.js') })
    expect(missingMain).toMatchObject({ isAvailable: false, reason: expect.stringContaining('npm run build') })
    const noDisplay = findElectronRuntime({ env: {}, packageDir, platform: 'linux', mainEntry: mainEntry() })
    expect(noDisplay).toMatchObject({ isAvailable: false, reason: expect.stringContaining('DISPLAY') })
  })
})
