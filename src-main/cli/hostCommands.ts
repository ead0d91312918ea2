import { spawn } from 'node:child_process'
import path from 'node:path'
import { AppError } from '../../src-shared/errors.ts'
import { resolvePassphrase } from '../adapters/keystore/passphrase.ts'
import type { BackendConfig } from '../backend/createBackend.ts'
import { validateAccessToken } from '../headless/accessToken.ts'
import { DEFAULT_HTTP_PORT } from '../headless/startHeadlessServer.ts'
import type { CliContext } from './cliContext.ts'
import { resolveDataDir } from './connectToControlCenter.ts'
import { findElectronRuntime, type FindElectronOptions } from './findElectronRuntime.ts'
import { envValue, parseCommandLine, parsePort, UsageError } from './flags.ts'
import { usage } from './usage.ts'

export const DEFAULT_BROKER_PORT = 1883

/** The flags of `serve` and `start`, which run the same control center in two hosts. */
export const hostFlags = {
  'data-dir': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'broker-port': { type: 'string' },
  'broker-host': { type: 'string' },
  broker: { type: 'string' },
  'broker-username': { type: 'string' },
  'broker-password': { type: 'string' },
  token: { type: 'string' },
  'renderer-dir': { type: 'string' },
  demo: { type: 'boolean' },
  verbose: { type: 'boolean' },
  json: { type: 'boolean' },
} as const

/** Only `serve` takes a trust folder; the desktop app will keep its director key with safeStorage instead. */
const serveTrustFlags = {
  'trust-dir': { type: 'string' },
  'passphrase-file': { type: 'string' },
} as const

export interface HostSettings {
  dataDir: string
  host: string
  port: number
  broker: BackendConfig['broker']
  token: string | undefined
  rendererDir: string | undefined
  isDemo: boolean
  isVerbose: boolean
  isJson: boolean
  /** `serve --trust-dir`: the trust folder and the director key's passphrase. */
  trust?: { dir: string; passphrase: string }
}

type HostFlagValues = ReturnType<typeof parseCommandLine<typeof hostFlags>>['values']

export function resolveHostSettings(values: HostFlagValues, context: CliContext): HostSettings {
  const brokerUrl = values.broker ?? envValue(context.env, 'OUTPOST_BROKER_URL')
  const username = values['broker-username'] ?? envValue(context.env, 'OUTPOST_BROKER_USERNAME')
  const password = values['broker-password'] ?? envValue(context.env, 'OUTPOST_BROKER_PASSWORD')
  if (values.host === '') throw new UsageError('--host needs an address, such as 127.0.0.1 or 0.0.0.0')
  let broker: BackendConfig['broker']
  if (brokerUrl !== undefined) {
    if (values['broker-port'] !== undefined || values['broker-host'] !== undefined) {
      throw new UsageError('--broker-port and --broker-host configure the embedded broker; drop them when passing --broker')
    }
    broker = {
      kind: 'external',
      url: brokerUrl,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    }
  } else {
    if (values['broker-username'] !== undefined || values['broker-password'] !== undefined) {
      throw new UsageError('--broker-username and --broker-password are for an external broker; pass --broker URL too')
    }
    broker = {
      kind: 'embedded',
      host: values['broker-host'] || '127.0.0.1',
      port: parsePort(values['broker-port'], 'broker-port', DEFAULT_BROKER_PORT),
    }
  }
  return {
    dataDir: resolveDataDir(values['data-dir'], context),
    host: values.host ?? '127.0.0.1',
    port: parsePort(values.port, 'port', DEFAULT_HTTP_PORT),
    broker,
    token: values.token === undefined ? undefined : validToken(values.token),
    rendererDir: values['renderer-dir'] === undefined ? undefined : path.resolve(context.cwd, values['renderer-dir']),
    isDemo: values.demo ?? false,
    isVerbose: values.verbose ?? false,
    isJson: values.json ?? false,
  }
}

function validToken(token: string): string {
  try {
    return validateAccessToken(token)
  } catch (error) {
    throw error instanceof AppError ? new UsageError(error.message) : error
  }
}

/** `outpost serve` */
export async function runServe(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine('serve', args, { ...hostFlags, ...serveTrustFlags }, false)
  if (values.help) {
    context.stdout(usage.serve)
    return 0
  }
  const { 'trust-dir': trustDir, 'passphrase-file': passphraseFile, ...hostValues } = values
  const settings = resolveHostSettings(hostValues, context)
  if (trustDir === undefined) {
    if (passphraseFile !== undefined) throw new UsageError('--passphrase-file opens the director key of --trust-dir; pass --trust-dir DIR too')
    return serveHeadless(settings, context)
  }
  const passphrase = await resolvePassphrase({
    passphraseFile: passphraseFile === undefined ? undefined : path.resolve(context.cwd, passphraseFile),
    env: context.env,
  })
  return serveHeadless({ ...settings, trust: { dir: path.resolve(context.cwd, trustDir), passphrase } }, context)
}

/** `outpost start`: the desktop app when Electron can run here, otherwise the same UI served headless. */
export async function runStart(
  args: readonly string[],
  context: CliContext,
  electronOptions: Partial<FindElectronOptions> = {},
): Promise<number> {
  const { values } = parseCommandLine('start', args, hostFlags, false)
  if (values.help) {
    context.stdout(usage.start)
    return 0
  }
  const settings = resolveHostSettings(values, context)
  const runtime = findElectronRuntime({ env: context.env, ...electronOptions })
  if (!runtime.isAvailable) {
    context.stderr(`Electron runtime not available on this machine (${runtime.reason}); serving the same UI in headless mode.`)
    return serveHeadless(settings, context)
  }
  return runElectron(runtime.executablePath, runtime.mainEntry, args, settings, context)
}

/** Loaded on demand: it pulls in the whole backend (SQLite, broker, onnxruntime). */
async function serveHeadless(settings: HostSettings, context: CliContext): Promise<number> {
  return (await import('./serveHeadless.ts')).serveHeadless(settings, context)
}

/** Runs the desktop app with the same flags; our signals go to it, and its exit code becomes ours. */
async function runElectron(
  executablePath: string,
  mainEntry: string,
  args: readonly string[],
  settings: HostSettings,
  context: CliContext,
): Promise<number> {
  const env: Record<string, string | undefined> = { ...context.env }
  // Set by some tools; it would make the binary behave as plain Node and ignore the app.
  delete env['ELECTRON_RUN_AS_NODE']
  const forwarded: string[] = []
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? ''
    const secret = /^--broker-(username|password)(=.*)?$/.exec(arg)
    if (secret) {
      // Credentials travel in the environment, where other users cannot read them (the desktop app reads them there).
      const value = secret[2] === undefined ? args[++index] : secret[2].slice(1)
      env[secret[1] === 'username' ? 'OUTPOST_BROKER_USERNAME' : 'OUTPOST_BROKER_PASSWORD'] = value
      continue
    }
    forwarded.push(arg)
  }
  if (!args.some((arg) => arg === '--data-dir' || arg.startsWith('--data-dir='))) {
    // Both hosts then share one data directory, so `outpost devices list` finds the desktop app's database.
    forwarded.push('--data-dir', settings.dataDir)
  }
  const child = spawn(executablePath, [mainEntry, ...forwarded], { stdio: 'inherit', env })
  const stopChild = () => child.kill('SIGTERM')
  context.shutdownSignal.addEventListener('abort', stopChild, { once: true })
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error) =>
        reject(new AppError('electron-unavailable', `Could not start Electron at ${executablePath}: ${error.message}`)),
      )
      child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGTERM' || signal === 'SIGINT' ? 0 : 1)))
    })
  } finally {
    context.shutdownSignal.removeEventListener('abort', stopChild)
  }
}
