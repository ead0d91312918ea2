/**
 * Wires a real process (argv, standard streams, signals, exit code) to runCli. Used by the two entries:
 * src-main/cli/main.ts (`outpost`) and src-main/headless.ts (`outpost serve`).
 */
import type { CliContext } from './cliContext.ts'
import { isLongRunning, runCli } from './runCli.ts'

/** Once the command returned, lingering handles (a socket in TIME_WAIT, a slow timer) get this long before exit. */
const EXIT_GRACE_MS = 3000

export async function runFromProcess(argv: readonly string[]): Promise<void> {
  const controller = new AbortController()
  let signalCount = 0
  const onSignal = (signal: NodeJS.Signals) => {
    signalCount += 1
    // A short command just stops; a server shuts down cleanly on the first signal and gives up on the second.
    if (!isLongRunning(argv) || signalCount > 1) process.exit(signal === 'SIGINT' ? 130 : 143)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  // `outpost devices list | head` closes the pipe early; that is not an error worth a line.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
  })

  const debug = process.env['OUTPOST_DEBUG'] === '1'
  const crash = (error: unknown) => {
    process.stderr.write('outpost: error [internal] Outpost hit an unexpected error; run again with OUTPOST_DEBUG=1 to see its stack\n')
    if (debug) process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  }
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)

  const context: CliContext = {
    env: process.env,
    cwd: process.cwd(),
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
    shutdownSignal: controller.signal,
  }
  const exitCode = await runCli(argv, context)
  process.exitCode = exitCode
  setTimeout(() => process.exit(exitCode), EXIT_GRACE_MS).unref()
}
