/** Reads the desktop app's command line and environment into a backend configuration. Pure: inputs in, config out. */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AppError } from '../../src-shared/errors.ts'
import type { BackendConfig } from '../backend/createBackend.ts'

/** The broker the backend connects to: the embedded aedes broker by default, or an external one. */
export type BrokerChoice = BackendConfig['broker']

export interface LaunchOptions {
  dataDir: string
  broker: BrokerChoice
}

/** Where agents on this machine find the embedded broker unless `--broker-port` says otherwise. */
export const DEFAULT_BROKER_PORT = 1883

/** The value of `--name value` or `--name=value`; the last occurrence wins, as in most CLIs. */
export function readFlag(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === `--${name}`) {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) throw new AppError('invalid-input', `--${name} needs a value`)
      value = next
      i++
    } else if (arg?.startsWith(`--${name}=`)) {
      value = arg.slice(name.length + 3)
    }
  }
  return value
}

/**
 * Data directory: `--data-dir`, else OUTPOST_DATA_DIR, else `defaultDataDir`. Broker: `--broker URL`
 * (credentials from OUTPOST_BROKER_USERNAME / OUTPOST_BROKER_PASSWORD, never argv, which other users can read),
 * else the embedded broker on 127.0.0.1 at `--broker-port` (default 1883).
 */
export function resolveLaunchOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaultDataDir: string,
): LaunchOptions {
  const dataDirArg = readFlag(argv, 'data-dir') ?? nonEmpty(env.OUTPOST_DATA_DIR)
  const dataDir = dataDirArg === undefined ? defaultDataDir : resolve(dataDirArg)

  const brokerUrl = readFlag(argv, 'broker') ?? nonEmpty(env.OUTPOST_BROKER_URL)
  if (brokerUrl !== undefined) {
    const username = nonEmpty(env.OUTPOST_BROKER_USERNAME)
    const password = nonEmpty(env.OUTPOST_BROKER_PASSWORD)
    return {
      dataDir,
      broker: {
        kind: 'external',
        url: brokerUrl,
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
      },
    }
  }

  const portText = readFlag(argv, 'broker-port')
  const port = portText === undefined ? DEFAULT_BROKER_PORT : Number(portText)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new AppError('invalid-input', `--broker-port must be a port number from 0 to 65535, not '${portText}'`)
  }
  return { dataDir, broker: { kind: 'embedded', host: '127.0.0.1', port } }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}

/** The built files main loads, found next to the main bundle: out/main/index.js -> out/preload, out/renderer. */
export function builtAppPaths(mainModuleUrl: string): { preloadPath: string; rendererDir: string } {
  return {
    preloadPath: fileURLToPath(new URL('../preload/index.cjs', mainModuleUrl)),
    rendererDir: fileURLToPath(new URL('../renderer/', mainModuleUrl)),
  }
}
