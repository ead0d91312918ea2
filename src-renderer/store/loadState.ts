import { AppError, type ErrorCode } from '../../src-shared/errors.ts'
import { createLogger } from '../../src-shared/log.ts'

/** An error as the UI keeps it: the code picks the sentence and action, the message adds the specifics. */
export interface UiError {
  code: ErrorCode
  message: string
}

export type LoadState = 'idle' | 'loading' | 'ready' | { error: UiError }

const log = createLogger('renderer')

/** AppError keeps its code; anything else is a bug in this window, logged here with its stack. */
export function asUiError(error: unknown): UiError {
  if (error instanceof AppError) return { code: error.code, message: error.message }
  log.error('Unexpected error in the user interface', error)
  return { code: 'internal', message: 'Unexpected error in this window; see the developer console' }
}

export function loadErrorOf(load: LoadState): UiError | null {
  return typeof load === 'object' ? load.error : null
}

/**
 * Pushes that arrive while a list call is in flight. The list's continuation can run after a newer push was
 * applied, so the pushes recorded meanwhile are laid over the list: the last push per id is the newest state.
 */
export function createPushLedger<Item>() {
  const open = new Set<Map<string, Item>>()
  return {
    open(): Map<string, Item> {
      const pushed = new Map<string, Item>()
      open.add(pushed)
      return pushed
    },
    record(id: string, item: Item): void {
      for (const pushed of open) pushed.set(id, item)
    },
    close(pushed: Map<string, Item>): void {
      open.delete(pushed)
    },
  }
}
