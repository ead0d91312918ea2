import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { OutpostMethods } from '../../src-shared/contract/index.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { CallContext, Handlers, Logger } from '../../src-shared/rpc/types.ts'

export const DEMO_DEVICE_COUNT = 5
export const DEMO_MODEL = { name: 'tiny-classifier', version: '1.0.0' } as const

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url))
export const SAMPLE_MODEL_FILE = path.join(repositoryRoot, 'fixtures', 'models', 'tiny-classifier.onnx')
const AGENT_ENTRY = path.join(repositoryRoot, 'bin', 'outpost-agent.js')
/** How long the agents get to say goodbye (retained offline status) before they are killed. */
const AGENT_STOP_GRACE_MS = 5000

export interface DemoOptions {
  handlers: Handlers<OutpostMethods>
  dataDir: string
  /** The URL the simulated agents connect to. */
  brokerUrl: string
  log: Logger
  /** Forward the agents' log lines, prefixed, to `writeAgentLine`. */
  isVerbose: boolean
  writeAgentLine(line: string): void
  /** Defaults for tests; the real ones are the repository's. */
  agentEntry?: string
  sampleModelFile?: string
}

export interface Demo {
  deviceIds: string[]
  credentialsFile: string
  stop(): Promise<void>
}

const demoContext: CallContext = { connectionId: 'cli-demo' }

/**
 * A live fleet for newcomers: enrolls demo-1..demo-5, simulates them in one child agent process, and imports the
 * sample model once. Credentials are re-issued on every start, so the file always matches the database.
 */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const { handlers, log } = options
  const demoDir = path.join(options.dataDir, 'demo')
  mkdirSync(demoDir, { recursive: true })

  const deviceIds = Array.from({ length: DEMO_DEVICE_COUNT }, (_, index) => `demo-${index + 1}`)
  const credentials = []
  for (const deviceId of deviceIds) {
    const issued = await handlers['devices.enroll']({ deviceId }, demoContext)
    credentials.push({ deviceId: issued.deviceId, username: issued.username, password: issued.password })
  }
  const credentialsFile = path.join(demoDir, 'credentials.json')
  writeFileSync(credentialsFile, `${JSON.stringify({ devices: credentials }, null, 2)}\n`, { mode: 0o600 })
  chmodSync(credentialsFile, 0o600)

  await importSampleModel(handlers, options.sampleModelFile ?? SAMPLE_MODEL_FILE, log)

  const agentEntry = options.agentEntry ?? AGENT_ENTRY
  if (!existsSync(agentEntry)) {
    log.warn('The device agent is missing, so the demo devices stay offline', { agentEntry })
    return { deviceIds, credentialsFile, stop: async () => {} }
  }
  const child = spawnAgents(agentEntry, credentialsFile, demoDir, options)
  log.info('Demo fleet started', { deviceIds, credentialsFile, pid: child.pid })

  let isStopping = false
  // If this process dies without a clean shutdown, the agents must not outlive it.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.once('exit', (code, signal) => {
    if (isStopping) return
    log.error(
      `The simulated demo agents exited (${signal ?? `code ${code}`}); the control center keeps running. Pass --verbose to see their log`,
    )
  })
  child.once('error', (error) => log.error(`Could not start the simulated demo agents: ${error.message}`))

  return {
    deviceIds,
    credentialsFile,
    async stop() {
      isStopping = true
      process.off('exit', killOnExit)
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), AGENT_STOP_GRACE_MS)
      await exited
      clearTimeout(timer)
    },
  }
}

function spawnAgents(agentEntry: string, credentialsFile: string, demoDir: string, options: DemoOptions): ChildProcess {
  const args = [
    agentEntry,
    '--simulate',
    String(DEMO_DEVICE_COUNT),
    '--credentials',
    credentialsFile,
    '--broker',
    options.brokerUrl,
    '--data-dir',
    path.join(demoDir, 'agents'),
    '--telemetry-interval-s',
    '5',
    '--heartbeat-interval-s',
    '5',
    '--workload-rate',
    '5',
  ]
  // process.execPath: the same Node that runs this CLI, whatever `node` on PATH is. Detached into its own process
  // group, so Ctrl-C in the terminal reaches only the control center, which then stops the agents in order.
  // Inside Electron, process.execPath is the Electron binary: ELECTRON_RUN_AS_NODE makes it behave as plain Node.
  const env = process.versions.electron === undefined ? process.env : { ...process.env, ELECTRON_RUN_AS_NODE: '1' }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env })
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue
    // Always drained, so a chatty agent never blocks on a full pipe; shown only when asked for.
    createInterface({ input: stream }).on('line', (line) => {
      if (options.isVerbose) options.writeAgentLine(`[demo-agents] ${line}`)
    })
  }
  return child
}

async function importSampleModel(handlers: Handlers<OutpostMethods>, modelFile: string, log: Logger): Promise<void> {
  if (!existsSync(modelFile)) {
    log.warn('The sample model is missing; regenerate it with `node fixtures/scripts/generateModels.ts`', { modelFile })
    return
  }
  const sha256 = createHash('sha256').update(readFileSync(modelFile)).digest('hex')
  const models = await handlers['models.list']({}, demoContext)
  if (models.some((model) => model.sha256 === sha256)) return
  try {
    const model = await handlers['models.importFile']({ path: modelFile, ...DEMO_MODEL }, demoContext)
    log.info('Imported the sample model', { modelId: model.modelId, name: model.name, version: model.version })
  } catch (error) {
    // The fleet is still worth showing without the model; the reason is in the log.
    if (!(error instanceof AppError)) throw error
    log.warn(`Could not import the sample model: ${error.message}`, { code: error.code })
  }
}
