/**
 * The model session callers run on. A swap is atomic for callers: each call runs start to finish on the session
 * that was current when it began; a replaced session is closed once its calls have drained.
 */
import { AppError } from '../../../src-shared/errors.ts'
import type { ActivePointer } from '../ports/agentStore.ts'
import type { LoadedModel } from '../ports/modelRuntime.ts'

export interface ServedEntry {
  pointer: ActivePointer
  model: LoadedModel
  /** Why the session is not on a preferred execution provider; null when it is. */
  executionProviderFallback: string | null
}

interface Holder {
  entry: ServedEntry
  inFlight: number
  isRetired: boolean
  drained: Promise<void>
  resolveDrained: () => void
}

function holderOf(entry: ServedEntry): Holder {
  let resolveDrained = () => {}
  const drained = new Promise<void>((resolve) => {
    resolveDrained = resolve
  })
  return { entry, inFlight: 0, isRetired: false, drained, resolveDrained }
}

export class ServedModel {
  #current: Holder | null = null
  readonly #closing = new Set<Promise<void>>()
  readonly #onCloseError: (error: unknown) => void

  constructor(onCloseError: (error: unknown) => void) {
    this.#onCloseError = onCloseError
  }

  current(): ServedEntry | null {
    return this.#current?.entry ?? null
  }

  /**
   * Pins the current session for one call; `release` must be called exactly once when the call is over. Null when
   * no model is served. The hot path of the inference API: no closure, no extra promise.
   */
  acquire(): { entry: ServedEntry; release: () => void } | null {
    const holder = this.#current
    if (holder === null) return null
    holder.inFlight += 1
    return {
      entry: holder.entry,
      release: () => {
        holder.inFlight -= 1
        if (holder.isRetired && holder.inFlight === 0) holder.resolveDrained()
      },
    }
  }

  /** Runs `work` on the current session. Throws AppError 'unavailable' when no model is served. */
  async use<T>(work: (entry: ServedEntry) => Promise<T>): Promise<T> {
    const lease = this.acquire()
    if (lease === null) throw new AppError('unavailable', 'No model is active on this device yet')
    try {
      return await work(lease.entry)
    } finally {
      lease.release()
    }
  }

  /**
   * Makes `next` the session new calls run on, at once. The previous one is closed in the background after its
   * calls finish; `settled()` waits for that.
   */
  swap(next: ServedEntry | null): void {
    const previous = this.#current
    this.#current = next === null ? null : holderOf(next)
    if (previous === null || previous.entry.model === next?.model) return
    previous.isRetired = true
    if (previous.inFlight === 0) previous.resolveDrained()
    const closing = previous.drained
      .then(() => previous.entry.model.close())
      .catch((error: unknown) => this.#onCloseError(error))
      .finally(() => this.#closing.delete(closing))
    this.#closing.add(closing)
  }

  /** Resolves when every replaced session is closed. */
  async settled(): Promise<void> {
    while (this.#closing.size > 0) await Promise.all([...this.#closing])
  }

  /** Stops serving and closes every session, waiting for calls in flight. */
  async close(): Promise<void> {
    this.swap(null)
    await this.settled()
  }
}
