/**
 * `outpost-agent` entry: the only file that touches process (argv, env, stdout, signals, exit codes).
 * Expected failures print one line `outpost-agent: error [code] message` and exit non-zero, never a stack.
 */
import process from 'node:process'
import { AppError } from '../../src-shared/errors.ts'
import { type LogLevel, createLogger } from '../../src-shared/log.ts'
import { readCredentialsFile } from './adapters/credentialsFile.ts'
import { createFsStore } from './adapters/fsStore.ts'
import { type InferenceHttpServer, startInferenceHttp } from './adapters/inferenceHttp.ts'
import { type AgentCommand, type AgentTuning, USAGE, parseAgentArgs } from './cliOptions.ts'
import { createAgent, probeCapabilities } from './createAgent.ts'
import { isHealthFailureDevice, startSimulation } from './simulator.ts'

const EXIT_USAGE = 2
const EXIT_FAILURE = 1

function printError(error: unknown): void {
  if (error instanceof AppError) {
    process.stderr.write(`outpost-agent: error [${error.code}] ${error.message}\n`)
  } else {
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`outpost-agent: error [internal] ${message.split('\n')[0] ?? ''}\n`)
  }
}

function exitCodeFor(error: unknown): number {
  return error instanceof AppError && (error.code === 'invalid-input' || error.code === 'broker-url-invalid') ? EXIT_USAGE : EXIT_FAILURE
}

/** Runs `shutdown` on the first SIGINT/SIGTERM; a second signal exits at once. */
function onShutdownSignal(shutdown: () => Promise<void>): void {
  let isShuttingDown = false
  const handler = (signal: NodeJS.Signals) => {
    if (isShuttingDown) process.exit(130)
    isShuttingDown = true
    process.stderr.write(`outpost-agent: ${signal} received, going offline\n`)
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        printError(error)
        process.exit(EXIT_FAILURE)
      },
    )
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}

/** A process-level crash for kill tests: no cleanup, no farewell, exactly like a power cut to the process. */
function crashNow(): void {
  process.kill(process.pid, 'SIGKILL')
}

/** Fault settings with the crash wired to this process. */
function faultsOf(tuning: AgentTuning) {
  const faults = tuning.faults
  if (faults === undefined) return undefined
  return faults.crashAtState === undefined ? faults : { ...faults, crash: crashNow }
}

async function printProbe(isJson: boolean): Promise<void> {
  const capabilities = await probeCapabilities()
  if (isJson) {
    process.stdout.write(`${JSON.stringify(capabilities, null, 2)}\n`)
    return
  }
  const { hardware, executionProviders } = capabilities
  const lines = [
    `os            ${hardware.platform} ${hardware.osRelease} (${hardware.arch})`,
    `host          ${hardware.hostname}`,
    `cpu           ${hardware.cpuModel} x${hardware.cpuCount}`,
    `memory        ${(hardware.memoryBytes / 2 ** 30).toFixed(1)} GiB`,
    `accelerators  ${hardware.accelerators.length > 0 ? hardware.accelerators.join(', ') : 'none found'}`,
    ...executionProviders.map((probe) => `ep ${probe.name.padEnd(10)} ${probe.isAvailable ? 'available' : `unavailable: ${probe.reason ?? ''}`}`),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

async function runCommand(command: AgentCommand): Promise<void> {
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE)
      return
    case 'probe':
      await printProbe(command.isJson)
      return
    case 'run': {
      const log = createLogger(`agent ${command.deviceId}`, command.logLevel)
      let password = command.password
      if (password === undefined && command.credentialsFile !== undefined) {
        const entry = (await readCredentialsFile(command.credentialsFile)).find((device) => device.deviceId === command.deviceId)
        if (entry === undefined) throw new AppError('invalid-input', `Device ${command.deviceId} is not in ${command.credentialsFile}`)
        password = entry.password
      }
      // The data dir is checked before the probe, so a bad --data-dir fails fast with one line.
      await createFsStore(command.dataDir).open()
      const capabilities = await probeCapabilities()
      const faults = command.faults === undefined ? undefined : { ...command.faults, ...(command.faults.crashAtState === undefined ? {} : { crash: crashNow }) }
      const runtime = createAgent(
        {
          brokerUrl: command.brokerUrl,
          deviceId: command.deviceId,
          dataDir: command.dataDir,
          ...(password === undefined ? {} : { password }),
          heartbeatIntervalMs: command.heartbeatIntervalMs,
          telemetryIntervalMs: command.telemetryIntervalMs,
          workloadRatePerS: command.workloadRatePerS,
          soakMs: command.soakMs,
          stepTimeoutMs: command.stepTimeoutMs,
          ...(command.executionProviderOrder === undefined ? {} : { executionProviderOrder: command.executionProviderOrder }),
          ...(command.drift === undefined ? {} : { drift: command.drift }),
          ...(faults === undefined ? {} : { faults: { ...faults, ...(faults.healthFailRatio === undefined ? {} : { failHealthCheck: isHealthFailureDevice(command.deviceId, faults.healthFailRatio) }) } }),
        },
        capabilities,
        log,
      )
      let api: InferenceHttpServer | undefined
      onShutdownSignal(async () => {
        await api?.close()
        await runtime.close()
      })
      try {
        await runtime.start()
        const setting = command.api
        if (setting.kind !== 'off') {
          api = await startInferenceHttp({ service: runtime, listen: setting.kind === 'port' ? { port: setting.port } : { socketPath: setting.socketPath }, log })
        }
      } catch (error) {
        await runtime.close().catch(() => undefined)
        throw error
      }
      // One line on stdout that scripts can wait for; the log says the rest.
      process.stdout.write(api === undefined ? 'agent started\n' : `agent started; inference API ${api.url}\n`)
      log.info('agent started', { dataDir: command.dataDir, broker: command.brokerUrl, api: api?.url ?? 'off' })
      return
    }
    case 'simulate': {
      const credentials = command.credentialsFile === undefined ? undefined : await readCredentialsFile(command.credentialsFile)
      const level: LogLevel = command.logLevel
      const simulation = await startSimulation(
        {
          count: command.count,
          brokerUrl: command.brokerUrl,
          dataDir: command.dataDir,
          idPrefix: command.idPrefix,
          ...(credentials === undefined ? {} : { credentials }),
          ...(command.password === undefined ? {} : { password: command.password }),
          heartbeatIntervalMs: command.heartbeatIntervalMs,
          telemetryIntervalMs: command.telemetryIntervalMs,
          workloadRatePerS: command.workloadRatePerS,
          soakMs: command.soakMs,
          stepTimeoutMs: command.stepTimeoutMs,
          ...(command.executionProviderOrder === undefined ? {} : { executionProviderOrder: command.executionProviderOrder }),
          ...(command.apiPortBase === undefined ? {} : { apiPortBase: command.apiPortBase }),
          ...(command.drift === undefined ? {} : { drift: command.drift }),
          ...(faultsOf(command) === undefined ? {} : { faults: faultsOf(command) }),
        },
        (deviceId) => createLogger(`agent ${deviceId}`, level),
      )
      onShutdownSignal(() => simulation.close())
      process.stdout.write(`simulating ${command.count} agents\n`)
      return
    }
  }
}

process.on('unhandledRejection', (reason) => {
  // A stray rejection must not take a running fleet member down; it is a bug to fix, so it is logged with its stack.
  createLogger('agent').error('unhandled rejection', reason)
})

let command: AgentCommand
try {
  command = parseAgentArgs(process.argv.slice(2), process.env)
} catch (error) {
  printError(error)
  process.exit(exitCodeFor(error))
}

try {
  await runCommand(command)
} catch (error) {
  printError(error)
  process.exit(exitCodeFor(error))
}
