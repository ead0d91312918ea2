/** Parses `outpost-agent` arguments into a command. No process access: argv and env are passed in. */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DeviceId } from '../../src-shared/domain/ids.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { LogLevel } from '../../src-shared/log.ts'

export const USAGE = `Usage:
  outpost-agent --broker URL --device-id ID [--data-dir DIR] [--username ID] [--password P]
  outpost-agent --simulate N --broker URL [--data-dir DIR] [--credentials FILE] [--id-prefix P]
  outpost-agent --probe [--json]

Runs the Outpost device agent: announces this machine to the control center over MQTT, installs the models it
is sent, runs them in onnxruntime-node and reports latency.

Options:
  --broker URL               MQTT broker (mqtt://, mqtts://, ws:// or wss://). Required unless --probe.
  --device-id ID             This device's id; also its MQTT client id and username.
  --data-dir DIR             Where state and models live (default ~/.outpost-agent/<device-id>, or
                             ~/.outpost-agent/simulated with --simulate: one sub-folder per device).
  --username ID              MQTT username; must equal the device id (used as the id when --device-id is absent).
  --password P               MQTT password (or env OUTPOST_AGENT_PASSWORD, or the --credentials entry).
  --credentials FILE         JSON {"devices":[{"deviceId","username","password"}]}; --simulate takes the first N.
  --simulate N               Run N agents in this process, each with its own connection, identity and data dir.
  --id-prefix P              Ids of simulated devices without --credentials: P-1 ... P-N (default sim).
  --telemetry-interval-s S   Seconds per telemetry window (default 60).
  --heartbeat-interval-s S   Seconds between heartbeats (default 15).
  --workload-rate R          Synthetic inferences per second on the active model (default 0; 2 with --simulate).
  --log-level L              info, warn, error or silent (default info). Logs go to stderr.
  --probe                    Print the hardware and execution-provider probe, then exit.
  --json                     With --probe: print JSON.
  -h, --help                 Show this help.
`

interface Timing {
  telemetryIntervalMs: number
  heartbeatIntervalMs: number
  workloadRatePerS: number
}

export type AgentCommand =
  | { kind: 'help' }
  | { kind: 'probe'; isJson: boolean; logLevel: LogLevel }
  | ({
      kind: 'run'
      brokerUrl: string
      deviceId: string
      dataDir: string
      password?: string
      credentialsFile?: string
      logLevel: LogLevel
    } & Timing)
  | ({
      kind: 'simulate'
      count: number
      brokerUrl: string
      dataDir: string
      idPrefix: string
      credentialsFile?: string
      password?: string
      logLevel: LogLevel
    } & Timing)

const BROKER_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:']
const LOG_LEVELS: readonly LogLevel[] = ['info', 'warn', 'error', 'silent']
export const MAX_SIMULATED_AGENTS = 1000

/** Throws AppError 'broker-url-invalid' unless `text` is an mqtt://, mqtts://, ws:// or wss:// URL with a host. */
export function validateBrokerUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new AppError('broker-url-invalid', `Broker URL "${text}" is not a URL; use e.g. mqtt://127.0.0.1:1883`)
  }
  if (!BROKER_PROTOCOLS.includes(url.protocol)) {
    throw new AppError('broker-url-invalid', `Broker URL "${text}" must start with mqtt://, mqtts://, ws:// or wss://`)
  }
  if (url.hostname === '') throw new AppError('broker-url-invalid', `Broker URL "${text}" names no host`)
  return text
}

function positiveNumber(flag: string, text: string | undefined, fallback: number, allowZero = false): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new AppError('invalid-input', `--${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${text}"`)
  }
  return value
}

export function parseAgentArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): AgentCommand {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        broker: { type: 'string' },
        'device-id': { type: 'string' },
        'data-dir': { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        simulate: { type: 'string' },
        credentials: { type: 'string' },
        'id-prefix': { type: 'string' },
        'telemetry-interval-s': { type: 'string' },
        'heartbeat-interval-s': { type: 'string' },
        'workload-rate': { type: 'string' },
        'log-level': { type: 'string' },
        probe: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (error) {
    // node:util's messages name the flag ("Unknown option '--x'"); keep the first line only.
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error)
    throw new AppError('invalid-input', `${message}; see outpost-agent --help`)
  }
  const text = (name: string): string | undefined => {
    const value = values[name]
    return typeof value === 'string' ? value : undefined
  }
  if (values.help === true) return { kind: 'help' }

  const logLevelText = text('log-level') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevelText)) {
    throw new AppError('invalid-input', `--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevelText}"`)
  }
  const logLevel = logLevelText as LogLevel
  if (values.probe === true) return { kind: 'probe', isJson: values.json === true, logLevel }

  const brokerText = text('broker')
  if (brokerText === undefined) throw new AppError('invalid-input', '--broker URL is required; see outpost-agent --help')
  const brokerUrl = validateBrokerUrl(brokerText)
  const password = text('password') ?? env.OUTPOST_AGENT_PASSWORD
  const simulateText = text('simulate')
  const isSimulation = simulateText !== undefined
  const timing: Timing = {
    telemetryIntervalMs: positiveNumber('telemetry-interval-s', text('telemetry-interval-s'), 60) * 1000,
    heartbeatIntervalMs: positiveNumber('heartbeat-interval-s', text('heartbeat-interval-s'), 15) * 1000,
    workloadRatePerS: positiveNumber('workload-rate', text('workload-rate'), isSimulation ? 2 : 0, true),
  }
  const defaultRoot = join(homedir(), '.outpost-agent')

  if (isSimulation) {
    const count = Number(simulateText)
    if (!Number.isInteger(count) || count < 1 || count > MAX_SIMULATED_AGENTS) {
      throw new AppError('invalid-input', `--simulate must be a whole number from 1 to ${MAX_SIMULATED_AGENTS}, got "${simulateText}"`)
    }
    if (text('device-id') !== undefined || text('username') !== undefined) {
      throw new AppError('invalid-input', '--simulate names its devices itself; drop --device-id and --username (use --id-prefix or --credentials)')
    }
    const idPrefix = text('id-prefix') ?? 'sim'
    if (!DeviceId.safeParse(`${idPrefix}-${count}`).success) {
      throw new AppError('invalid-input', `--id-prefix "${idPrefix}" does not make valid device ids (letters, digits, . _ -; at most 64)`)
    }
    const credentialsFile = text('credentials')
    return {
      kind: 'simulate',
      count,
      brokerUrl,
      dataDir: resolve(text('data-dir') ?? join(defaultRoot, 'simulated')),
      idPrefix,
      ...(credentialsFile === undefined ? {} : { credentialsFile: resolve(credentialsFile) }),
      ...(password === undefined ? {} : { password }),
      logLevel,
      ...timing,
    }
  }

  const deviceIdText = text('device-id') ?? text('username')
  if (deviceIdText === undefined) throw new AppError('invalid-input', '--device-id is required (or --simulate N); see outpost-agent --help')
  const username = text('username')
  if (username !== undefined && username !== deviceIdText) {
    throw new AppError('invalid-input', `--username must equal the device id "${deviceIdText}" (the broker requires username == client id)`)
  }
  if (!DeviceId.safeParse(deviceIdText).success) {
    throw new AppError('invalid-input', `Device id "${deviceIdText}" is invalid: use 1-64 letters, digits, dots, dashes or underscores`)
  }
  const credentialsFile = text('credentials')
  return {
    kind: 'run',
    brokerUrl,
    deviceId: deviceIdText,
    dataDir: resolve(text('data-dir') ?? join(defaultRoot, deviceIdText)),
    ...(password === undefined ? {} : { password }),
    ...(credentialsFile === undefined ? {} : { credentialsFile: resolve(credentialsFile) }),
    logLevel,
    ...timing,
  }
}
