import { type ChildProcess, spawn } from 'node:child_process'
import { pbkdf2Sync } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, connect as connectTcp } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tinyClassifierPath } from '../../fixtures/scripts/generateModels.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { topics } from '../../src-shared/protocol/topics.ts'
import type { CallContext } from '../../src-shared/rpc/types.ts'
import { type Backend, createBackend } from '../backend/createBackend.ts'
import { startHeadlessServer } from '../headless/startHeadlessServer.ts'
import { mosquittoAcl, mosquittoConfig, mosquittoPasswordLine, parsePasswordFile } from './brokerConfig.ts'
import type { CliContext } from './cliContext.ts'
import { runCli } from './runCli.ts'

const MOSQUITTO = '/usr/sbin/mosquitto'
const agentLauncher = fileURLToPath(new URL('../../bin/outpost-agent.js', import.meta.url))
const call: CallContext = { connectionId: 'broker-config-test' }

async function run(argv: string[], cwd: string) {
  const stdout: string[] = []
  const stderr: string[] = []
  const context: CliContext = {
    env: {},
    cwd,
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    shutdownSignal: new AbortController().signal,
  }
  const exitCode = await runCli(argv, context)
  return { exitCode, stdout: stdout.join('\n'), stderr: stderr.join('\n') }
}

async function eventually<T>(attempt: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await attempt().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

describe('broker-config mosquitto: the files', () => {
  it('hashes passwords in the $7$ format mosquitto_passwd writes', () => {
    // Salt and hash taken from `mosquitto_passwd -b file alice secret1` (mosquitto 2.0.11).
    const salt = Buffer.from('us9NDRaQr/HUZeGb', 'base64')
    expect(mosquittoPasswordLine('alice', 'secret1', salt)).toBe(
      'alice:$7$101$us9NDRaQr/HUZeGb$3Zn6sQLM2yS/YVYV30+nT23OjMowpaH6jw0pAWUrCl2iCo2PtqXGKdWG7HZ5CtZKaXXItclNbNLpG99Nuozj2g==',
    )
    const [, , iterations, saltText, hash] = mosquittoPasswordLine('d-1', 'pw').split('$')
    expect(pbkdf2Sync('pw', Buffer.from(saltText ?? '', 'base64'), Number(iterations), 64, 'sha512').toString('base64')).toBe(hash)
    expect([...parsePasswordFile('a:$7$x\n# note\n\nb:$7$y\n').keys()]).toEqual(['a', 'b'])
  })

  it('writes an ACL that confines each device to its own subtree and a listener on loopback', () => {
    const acl = mosquittoAcl()
    expect(acl).toContain('pattern write outpost/v1/d/%u/up/#')
    expect(acl).toContain('pattern read outpost/v1/d/%u/down/#')
    expect(acl).toMatch(/user control-center\ntopic readwrite outpost\/#/)
    const config = mosquittoConfig({ outDir: '/etc/outpost', host: '127.0.0.1', port: 1883, isPersistent: false })
    for (const line of ['listener 1883 127.0.0.1', 'allow_anonymous false', 'use_username_as_clientid true', 'password_file /etc/outpost/passwords', 'acl_file /etc/outpost/acl', 'persistence false']) {
      expect(config).toContain(line)
    }
  })
})

describe('broker-config mosquitto against Debian mosquitto', () => {
  let work: string
  let dataDir: string
  let outDir: string
  let brokerUrl: string
  let mosquitto: ChildProcess | undefined
  let agent: ChildProcess | undefined
  let backend: Backend | undefined
  let passwords: Map<string, string>

  beforeAll(async () => {
    if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is missing: install the Debian package "mosquitto" (apt-get install mosquitto)`)
    work = mkdtempSync(path.join(tmpdir(), 'outpost-mosquitto-'))
    // mkdtemp makes the folder 0700; a broker started as root reads its files as the "mosquitto" account.
    chmodSync(work, 0o755)
    dataDir = path.join(work, 'data')
    outDir = path.join(work, 'mosquitto')
    const port = await freePort()
    brokerUrl = `mqtt://127.0.0.1:${port}`
    const first = await run(['broker-config', 'mosquitto', '--out', outDir, '--data-dir', dataDir, '--port', String(port), '--no-persistence', '--json'], work)
    expect(first.exitCode, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ brokerUrl, deviceCount: 0, configFile: path.join(outDir, 'mosquitto.conf') })
    expect(statSync(path.join(outDir, 'passwords')).mode & 0o777).toBe(0o600)

    mosquitto = spawn(MOSQUITTO, ['-c', path.join(outDir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] })
    let brokerLog = ''
    mosquitto.stderr?.on('data', (data: Buffer) => (brokerLog += data.toString()))
    await eventually(
      () =>
        new Promise<true | undefined>((resolve) => {
          const socket = connectTcp(port, '127.0.0.1', () => {
            socket.destroy()
            resolve(true)
          })
          socket.once('error', () => resolve(undefined))
        }),
      5_000,
      'mosquitto to listen',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; mosquitto said: ${brokerLog}`)
    })

    const secret = readFileSync(path.join(dataDir, 'broker-secret'), 'utf8').trim()
    backend = await createBackend({ dataDir, host: 'headless', broker: { kind: 'external', url: brokerUrl, username: 'control-center', password: secret } }, silentLogger)
    const issued = [await backend.handlers['devices.enroll']({ deviceId: 'mq-1' }, call), await backend.handlers['devices.enroll']({ deviceId: 'mq-2' }, call)]
    passwords = new Map(issued.map((credentials) => [credentials.deviceId, credentials.password]))
    const credentialsFile = path.join(work, 'creds.json')
    writeFileSync(credentialsFile, JSON.stringify({ devices: issued.map(({ deviceId, username, password }) => ({ deviceId, username, password })) }))
    const second = await run(['broker-config', 'mosquitto', '--out', outDir, '--data-dir', dataDir, '--port', String(port), '--no-persistence', '--credentials', credentialsFile], work)
    expect(second.exitCode, second.stderr).toBe(0)
    expect(second.stdout).toMatch(/control-center and 2 device\(s\)/)
    mosquitto.kill('SIGHUP')
  }, 30_000)

  afterAll(async () => {
    if (agent?.exitCode === null) {
      const exited = new Promise((resolve) => agent?.once('exit', resolve))
      agent.kill('SIGTERM')
      await exited
    }
    await backend?.close()
    if (mosquitto?.exitCode === null) {
      const exited = new Promise((resolve) => mosquitto?.once('exit', resolve))
      mosquitto.kill('SIGTERM')
      await exited
    }
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  const connectAs = (deviceId: string, password: string) =>
    mqtt.connectAsync(brokerUrl, { clientId: deviceId, username: deviceId, password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3_000 })

  it('lets a real agent install a deployed model through mosquitto, trial ack included', async () => {
    // The reload after SIGHUP is asynchronous: wait until the new device password is accepted.
    const probe = await eventually(() => connectAs('mq-2', passwords.get('mq-2') ?? ''), 5_000, 'the reloaded password file')
    await probe.endAsync()
    agent = spawn(
      process.execPath,
      [agentLauncher, '--broker', brokerUrl, '--device-id', 'mq-1', '--data-dir', path.join(work, 'agent'), '--soak-s', '0.2', '--api-port', '0', '--log-level', 'error'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OUTPOST_AGENT_PASSWORD: passwords.get('mq-1') ?? '' } },
    )
    let agentLog = ''
    agent.stderr?.on('data', (data: Buffer) => (agentLog += data.toString()))
    const handlers = backend?.handlers
    if (handlers === undefined) throw new Error('no backend')
    await eventually(async () => ((await handlers['devices.get']({ deviceId: 'mq-1' }, call)).isOnline ? true : undefined), 15_000, 'mq-1 online')
    const model = await handlers['models.importFile']({ path: tinyClassifierPath, name: 'tiny', version: '1' }, call)
    await handlers['models.deploy']({ modelId: model.modelId, deviceIds: ['mq-1'] }, call)
    const device = await eventually(
      async () => {
        const current = await handlers['devices.get']({ deviceId: 'mq-1' }, call)
        if (['failed', 'rolled-back'].includes(current.install.state)) throw new Error(`install ended ${current.install.state}: ${current.install.message ?? ''}`)
        return current.install.state === 'committed' ? current : undefined
      },
      20_000,
      'mq-1 to commit the model',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; the agent said: ${agentLog}`)
    })
    expect(device).toMatchObject({ activeModel: { sha256: model.sha256 }, executionProvider: 'cpu' })
  }, 45_000)

  it('refuses a device publishing outside its own subtree (MQTT 5 reason code 135) and a wrong password', async () => {
    const client = await connectAs('mq-2', passwords.get('mq-2') ?? '')
    try {
      await client.publishAsync(topics.heartbeat('mq-2'), '{}', { qos: 1 })
      const refused = await client.publishAsync(topics.report('mq-1'), '{}', { qos: 1 }).then(
        () => undefined,
        (error: unknown) => error as { code?: number },
      )
      expect(refused?.code).toBe(135)
      const downRefused = await client.publishAsync(topics.desired('mq-2'), '{}', { qos: 1 }).then(
        () => undefined,
        (error: unknown) => error as { code?: number },
      )
      expect(downRefused?.code).toBe(135)
    } finally {
      await client.endAsync()
    }
    // mosquitto 2.0 answers a wrong password with 135 (not authorized) rather than 134 (bad user name or password).
    const wrongPassword = await connectAs('mq-2', 'wrong-password').then(
      async (client) => {
        await client.endAsync()
        return undefined
      },
      (error: unknown) => error as { code?: number },
    )
    expect([134, 135]).toContain(wrongPassword?.code)
  })

  it('re-issues every enrolled device through the running control center with --reissue', async () => {
    if (backend === undefined) throw new Error('no backend')
    const server = await startHeadlessServer({ backend, log: silentLogger, port: 0, rendererDir: work })
    try {
      const port = new URL(brokerUrl).port
      const result = await run(['broker-config', 'mosquitto', '--out', outDir, '--data-dir', dataDir, '--port', port, '--no-persistence', '--reissue', '--url', server.uiUrl], work)
      expect(result.exitCode, result.stderr).toBe(0)
      expect(result.stdout).toContain('--credentials')
      const file = JSON.parse(readFileSync(path.join(outDir, 'device-credentials.json'), 'utf8')) as { devices: Array<{ deviceId: string; password: string }> }
      expect(file.devices.map((device) => device.deviceId).sort()).toEqual(['mq-1', 'mq-2'])
      const reissued = file.devices.find((device) => device.deviceId === 'mq-2')?.password ?? ''
      expect(reissued).not.toBe(passwords.get('mq-2'))
      mosquitto?.kill('SIGHUP')
      const client = await eventually(() => connectAs('mq-2', reissued), 5_000, 'the re-issued password to be accepted')
      await client.endAsync()
    } finally {
      await server.close()
    }
  })
})
