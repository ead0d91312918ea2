/** Parses `outpost-agent` arguments into a command. No process access: argv and env are passed in. */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DeviceId } from '../../src-shared/domain/ids.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { LogLevel } from '../../src-shared/log.ts'
import { DEFAULT_API_PORT } from './adapters/inferenceHttp.ts'
import { parseProviderList } from './core/executionProviders.ts'
import { INSTALL_PHASES, type InstallPhase } from './core/installMachine.ts'

export const USAGE = `Usage:
  outpost-agent --broker URL --device-id ID [--data-dir DIR] [--username ID] [--password P] [options]
  outpost-agent --simulate N --broker URL [--data-dir DIR] [--credentials FILE] [--id-prefix P] [options]
  outpost-agent --probe [--json]

Runs the Outpost device agent: announces this machine to the control center over MQTT, installs the models it
is sent into A/B slots (switch, trial with a health gate, commit or roll back), serves them to local apps over
HTTP and reports latency.

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

Install and health gate:
  --soak-s S                 A new model must serve healthy probes this long before the agent asks the control
                             center to commit it (default 60; 5 with --simulate; 0 skips the soak).
  --step-timeout-s S         Longest wait of one install step, e.g. for the control center's trial ack (default 120).
  --execution-providers L    Execution providers to try, best first, e.g. cuda,cpu (default: the release's order,
                             else tensorrt,cuda,webgpu,dml,coreml,cpu). CPU is always the last resort.

Local inference API (POST /v1/models/{name|active}/infer, GET /v1/models/{name}, GET /healthz):
  --api-port P               Serve it on 127.0.0.1:P (default 8470; 0 picks a free port).
  --api-socket PATH          Serve it on a Unix socket instead.
  --no-api                   Do not serve it.
  --api-port-base B          With --simulate: device i serves on 127.0.0.1:B+i-1 (off unless given).

Fault injection (simulations and kill tests):
  --fault-extra-latency-ms N       Add N ms to every inference.
  --fault-health-fail-ratio R      This fraction (0-1) of devices, picked by a hash of the id, fails every health check.
  --fault-crash-during-install S   Kill the whole process right after an install state S is persisted
                                   (accepted, downloading, verified, staged, switching, trial, committing, ...).
  --fault-flaky-network            Cut broker connections at random (seeded per device), then reconnect.
  --fault-flaky-mean-s S           Mean seconds a connection lasts with --fault-flaky-network (default 10).
  --drift-after-s T                Shift the synthetic workload's inputs after T seconds ...
  --drift-shift X                  ... by X (both flags go together; a negative X as --drift-shift=-0.5).
`

interface Timing {
  telemetryIntervalMs: number
  heartbeatIntervalMs: number
  workloadRatePerS: number
}

/** Install, health-gate and fault settings shared by both modes. */
export interface AgentTuning {
  soakMs: number
  stepTimeoutMs: number
  executionProviderOrder?: string[]
  drift?: { afterMs: number; shift: number }
  faults?: {
    extraLatencyMs?: number
    healthFailRatio?: number
    crashAtState?: InstallPhase
    flakyMeanConnectedMs?: number
  }
}

export type ApiSetting = { kind: 'off' } | { kind: 'port'; port: number } | { kind: 'socket'; socketPath: string }

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
      api: ApiSetting
    } & Timing &
      AgentTuning)
  | ({
      kind: 'simulate'
      count: number
      brokerUrl: string
      dataDir: string
      idPrefix: string
      credentialsFile?: string
      password?: string
      logLevel: LogLevel
      apiPortBase?: number
    } & Timing &
      AgentTuning)

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
        'soak-s': { type: 'string' },
        'step-timeout-s': { type: 'string' },
        'execution-providers': { type: 'string' },
        'api-port': { type: 'string' },
        'api-socket': { type: 'string' },
        'no-api': { type: 'boolean' },
        'api-port-base': { type: 'string' },
        'fault-extra-latency-ms': { type: 'string' },
        'fault-health-fail-ratio': { type: 'string' },
        'fault-crash-during-install': { type: 'string' },
        'fault-flaky-network': { type: 'boolean' },
        'fault-flaky-mean-s': { type: 'string' },
        'drift-after-s': { type: 'string' },
        'drift-shift': { type: 'string' },
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
  const tuning = parseTuning(text, values['fault-flaky-network'] === true, isSimulation)

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
    for (const flag of ['api-port', 'api-socket', 'no-api']) {
      if (values[flag] !== undefined) throw new AppError('invalid-input', `--${flag} is for a single agent; with --simulate use --api-port-base B`)
    }
    const apiPortBase = port('api-port-base', text('api-port-base'), MAX_SIMULATED_AGENTS)
    const credentialsFile = text('credentials')
    return {
      kind: 'simulate',
      count,
      brokerUrl,
      dataDir: resolve(text('data-dir') ?? join(defaultRoot, 'simulated')),
      idPrefix,
      ...(credentialsFile === undefined ? {} : { credentialsFile: resolve(credentialsFile) }),
      ...(password === undefined ? {} : { password }),
      ...(apiPortBase === undefined ? {} : { apiPortBase }),
      logLevel,
      ...timing,
      ...tuning,
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
  if (text('api-port-base') !== undefined) throw new AppError('invalid-input', '--api-port-base goes with --simulate; a single agent takes --api-port')
  const credentialsFile = text('credentials')
  return {
    kind: 'run',
    brokerUrl,
    deviceId: deviceIdText,
    dataDir: resolve(text('data-dir') ?? join(defaultRoot, deviceIdText)),
    ...(password === undefined ? {} : { password }),
    ...(credentialsFile === undefined ? {} : { credentialsFile: resolve(credentialsFile) }),
    logLevel,
    api: parseApi(text, values['no-api'] === true),
    ...timing,
    ...tuning,
  }
}

/** A TCP port from a flag (0 picks a free one), leaving room for `span` consecutive ports; undefined when absent. */
function port(flag: string, value: string | undefined, span = 1): number | undefined {
  if (value === undefined) return undefined
  const number = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isInteger(number) || number + span - 1 > 65_535) {
    throw new AppError('invalid-input', `--${flag} must be a port from 0 to ${65_536 - span}, got "${value}"`)
  }
  return number
}

function parseApi(text: (name: string) => string | undefined, isOff: boolean): ApiSetting {
  const socketPath = text('api-socket')
  const apiPort = port('api-port', text('api-port'))
  if ([isOff, socketPath !== undefined, apiPort !== undefined].filter(Boolean).length > 1) {
    throw new AppError('invalid-input', 'Choose one of --api-port, --api-socket and --no-api')
  }
  if (isOff) return { kind: 'off' }
  if (socketPath !== undefined) return { kind: 'socket', socketPath: resolve(socketPath) }
  return { kind: 'port', port: apiPort ?? DEFAULT_API_PORT }
}

function parseTuning(text: (name: string) => string | undefined, isFlaky: boolean, isSimulation: boolean): AgentTuning {
  const faults: NonNullable<AgentTuning['faults']> = {}
  const extraLatencyText = text('fault-extra-latency-ms')
  if (extraLatencyText !== undefined) faults.extraLatencyMs = positiveNumber('fault-extra-latency-ms', extraLatencyText, 0, true)
  const ratioText = text('fault-health-fail-ratio')
  if (ratioText !== undefined) {
    const ratio = positiveNumber('fault-health-fail-ratio', ratioText, 0, true)
    if (ratio > 1) throw new AppError('invalid-input', `--fault-health-fail-ratio must be from 0 to 1, got "${ratioText}"`)
    faults.healthFailRatio = ratio
  }
  const crashText = text('fault-crash-during-install')
  if (crashText !== undefined) {
    const phase = INSTALL_PHASES.find((candidate) => candidate === crashText && candidate !== 'idle')
    if (phase === undefined) {
      throw new AppError('invalid-input', `--fault-crash-during-install takes an install state (${INSTALL_PHASES.filter((name) => name !== 'idle').join(', ')}), got "${crashText}"`)
    }
    faults.crashAtState = phase
  }
  const flakyMeanText = text('fault-flaky-mean-s')
  if (flakyMeanText !== undefined && !isFlaky) throw new AppError('invalid-input', '--fault-flaky-mean-s goes with --fault-flaky-network')
  if (isFlaky) faults.flakyMeanConnectedMs = positiveNumber('fault-flaky-mean-s', flakyMeanText, 10) * 1000

  const driftAfterText = text('drift-after-s')
  const driftShiftText = text('drift-shift')
  if ((driftAfterText === undefined) !== (driftShiftText === undefined)) throw new AppError('invalid-input', '--drift-after-s and --drift-shift go together')
  let drift: AgentTuning['drift']
  if (driftAfterText !== undefined && driftShiftText !== undefined) {
    const shift = Number(driftShiftText)
    if (!Number.isFinite(shift)) throw new AppError('invalid-input', `--drift-shift must be a number, got "${driftShiftText}"`)
    drift = { afterMs: positiveNumber('drift-after-s', driftAfterText, 0, true) * 1000, shift }
  }
  const executionProviderOrder = parseProviderList(text('execution-providers'))
  return {
    soakMs: positiveNumber('soak-s', text('soak-s'), isSimulation ? 5 : 60, true) * 1000,
    stepTimeoutMs: positiveNumber('step-timeout-s', text('step-timeout-s'), 120) * 1000,
    ...(executionProviderOrder === undefined ? {} : { executionProviderOrder }),
    ...(drift === undefined ? {} : { drift }),
    ...(Object.keys(faults).length === 0 ? {} : { faults }),
  }
}
