import { readFileSync } from 'node:fs'
import { AppError } from '../../src-shared/errors.ts'
import { runBrokerConfig } from './brokerConfig.ts'
import type { CliContext } from './cliContext.ts'
import { runDevicesEnroll, runDevicesList, runModelsDeploy, runModelsImport, runModelsList, runStatus } from './fleetCommands.ts'
import { runDriftReport } from './driftCommands.ts'
import { UsageError } from './flags.ts'
import { runServe, runStart } from './hostCommands.ts'
import {
  runRolloutAbort,
  runRolloutApprove,
  runRolloutAudit,
  runRolloutCreate,
  runRolloutDryRun,
  runRolloutPause,
  runRolloutReport,
  runRolloutResume,
  runRolloutRetry,
  runRolloutRollback,
  runRolloutStart,
  runRolloutStatus,
} from './rolloutCommands.ts'
import { usage } from './usage.ts'

type Command = (args: readonly string[], context: CliContext) => Promise<number>

const commands: Record<string, Command> = {
  serve: runServe,
  start: (args, context) => runStart(args, context),
  status: runStatus,
  'broker-config': runBrokerConfig,
}

const groups: Record<string, { help: string; subcommands: Record<string, Command> }> = {
  devices: { help: usage.devices, subcommands: { list: runDevicesList, enroll: runDevicesEnroll } },
  drift: { help: usage.drift, subcommands: { report: runDriftReport } },
  keys: {
    help: usage.keys,
    subcommands: { init: (args, context) => trustCommand('runKeysInit', args, context), list: (args, context) => trustCommand('runKeysList', args, context) },
  },
  release: {
    help: usage.release,
    subcommands: {
      create: (args, context) => trustCommand('runReleaseCreate', args, context),
      sign: (args, context) => trustCommand('runReleaseSign', args, context),
      verify: (args, context) => trustCommand('runReleaseVerify', args, context),
      floor: (args, context) => trustCommand('runReleaseFloor', args, context),
    },
  },
  models: { help: usage.models, subcommands: { list: runModelsList, import: runModelsImport, deploy: runModelsDeploy } },
  rollout: {
    help: usage.rollout,
    subcommands: {
      create: runRolloutCreate,
      start: runRolloutStart,
      pause: runRolloutPause,
      resume: runRolloutResume,
      approve: runRolloutApprove,
      retry: runRolloutRetry,
      abort: runRolloutAbort,
      rollback: runRolloutRollback,
      status: runRolloutStatus,
      'dry-run': runRolloutDryRun,
      report: runRolloutReport,
      audit: runRolloutAudit,
    },
  },
  model: {
    help: usage.model,
    subcommands: {
      inspect: (args, context) => modelCommand('runModelInspect', args, context),
      optimize: (args, context) => modelCommand('runModelOptimize', args, context),
      evaluate: (args, context) => modelCommand('runModelEvaluate', args, context),
      compress: (args, context) => modelCommand('runModelCompress', args, context),
    },
  },
}

type ModelCommandName = 'runModelInspect' | 'runModelOptimize' | 'runModelEvaluate' | 'runModelCompress'

/** Loaded on use: the packaging commands pull in onnxruntime, which other commands should not pay for at start. */
async function modelCommand(name: ModelCommandName, args: readonly string[], context: CliContext): Promise<number> {
  const commandsModule = await import('./modelCommands.ts')
  return commandsModule[name](args, context)
}

type TrustCommandName = 'runKeysInit' | 'runKeysList' | 'runReleaseCreate' | 'runReleaseSign' | 'runReleaseVerify' | 'runReleaseFloor'

/** Loaded on use: release create pulls in onnxruntime, and the key commands need none of the fleet code. */
async function trustCommand(name: TrustCommandName, args: readonly string[], context: CliContext): Promise<number> {
  return (await import('./trustCommands.ts'))[name](args, context)
}

/** Commands that run until a signal; the others should simply die on Ctrl-C. */
export function isLongRunning(argv: readonly string[]): boolean {
  return argv[0] === 'serve' || argv[0] === 'start'
}

/**
 * Runs one command line and returns the exit code. This is the edge: every failure becomes one line on standard
 * error, `outpost: error [code] message`, with exit code 1, or 2 for a mistake on the command line. Stacks of
 * unexpected errors are printed only with OUTPOST_DEBUG=1.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  try {
    return await dispatch(argv, context)
  } catch (error) {
    return reportFailure(error, context)
  }
}

async function dispatch(argv: readonly string[], context: CliContext): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) throw new UsageError('Missing command; run `outpost --help`')
  if (name === '--help' || name === '-h' || name === 'help') {
    context.stdout(usage.main)
    return 0
  }
  if (name === '--version' || name === '-v') {
    context.stdout(productVersion())
    return 0
  }
  const command = commands[name]
  if (command) return command(rest, context)
  const group = groups[name]
  if (!group) throw new UsageError(`Unknown command '${name}'; run \`outpost --help\``)
  const [subcommandName, ...subArgs] = rest
  if (subcommandName === undefined) {
    throw new UsageError(`Missing subcommand: ${Object.keys(group.subcommands).join(', ')}; run \`outpost ${name} --help\``)
  }
  if (subcommandName === '--help' || subcommandName === '-h') {
    context.stdout(group.help)
    return 0
  }
  const subcommand = group.subcommands[subcommandName]
  if (!subcommand) throw new UsageError(`Unknown command '${name} ${subcommandName}'; run \`outpost ${name} --help\``)
  return subcommand(subArgs, context)
}

function reportFailure(error: unknown, context: CliContext): number {
  if (error instanceof AppError) {
    context.stderr(`outpost: error [${error.code}] ${oneLine(error.message)}`)
    if (context.env['OUTPOST_DEBUG'] === '1' && error.details !== undefined) context.stderr(JSON.stringify(error.details))
    return error instanceof UsageError ? 2 : 1
  }
  context.stderr('outpost: error [internal] Outpost hit an unexpected error; run again with OUTPOST_DEBUG=1 to see its stack')
  if (context.env['OUTPOST_DEBUG'] === '1') {
    context.stderr(error instanceof Error ? (error.stack ?? error.message) : String(error))
  }
  return 1
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim()
}

function productVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return typeof packageJson.version === 'string' ? packageJson.version : 'unknown'
}
