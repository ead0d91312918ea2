/** What a command may touch of its process: injected so commands run the same in a test as in `bin/outpost.js`. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>
  cwd: string
  /** Writes one line (or several joined by newlines) to standard output: the command's result. */
  stdout(text: string): void
  /** Writes to standard error: notices and progress, never results. */
  stderr(text: string): void
  /** Aborted on SIGINT or SIGTERM; long-running commands (serve, start) shut down cleanly when it fires. */
  shutdownSignal: AbortSignal
}

/** Resolves when the signal aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}
