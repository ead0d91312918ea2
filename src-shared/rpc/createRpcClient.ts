import type { z } from 'zod'
import { AppError } from '../errors.ts'
import type { Transport } from './envelope.ts'
import type { EventTable, Input, MethodTable, Output } from './types.ts'

export interface RpcClientOptions {
  /** Validate outputs and event payloads against the contract (tests and development). */
  validate?: boolean
  /** Reject a call that has no answer after this long, with code 'timeout'. */
  callTimeoutMs?: number
}

/** A typed client for a contract over any transport. */
export function createRpcClient<T extends MethodTable, E extends EventTable>(
  methods: T,
  events: E,
  transport: Transport,
  options: RpcClientOptions = {},
) {
  let nextId = 1
  const pending = new Map<number, { method: string; resolve: (value: unknown) => void; reject: (error: AppError) => void }>()
  const listeners = new Map<string, Set<(payload: unknown) => void>>()

  const stop = transport.onMessage((message) => {
    if (message.kind === 'result') {
      const call = pending.get(message.id)
      if (!call) return
      pending.delete(message.id)
      if (!message.ok) return call.reject(AppError.fromWire(message.error))
      if (options.validate) {
        const parsed = methods[call.method]!.output.safeParse(message.value)
        if (!parsed.success) return call.reject(new AppError('internal', `Output of '${call.method}' broke the contract`))
      }
      call.resolve(message.value)
    } else if (message.kind === 'event') {
      if (options.validate && events[message.topic] && !events[message.topic]!.safeParse(message.payload).success) return
      listeners.get(message.topic)?.forEach((listener) => listener(message.payload))
    }
  })

  return {
    call<M extends keyof T & string>(method: M, input: Input<T, M>): Promise<Output<T, M>> {
      const id = nextId++
      return new Promise<Output<T, M>>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined
        if (options.callTimeoutMs !== undefined) {
          timer = setTimeout(() => {
            pending.delete(id)
            reject(new AppError('timeout', `'${method}' got no answer within ${options.callTimeoutMs} ms`))
          }, options.callTimeoutMs)
        }
        pending.set(id, {
          method,
          resolve: (value) => {
            clearTimeout(timer)
            resolve(value as Output<T, M>)
          },
          reject: (error) => {
            clearTimeout(timer)
            reject(error)
          },
        })
        transport.send({ kind: 'call', id, method, input })
      })
    },
    on<K extends keyof E & string>(topic: K, listener: (payload: z.infer<E[K]>) => void): () => void {
      const set = listeners.get(topic) ?? new Set()
      listeners.set(topic, set)
      const untyped = listener as (payload: unknown) => void
      set.add(untyped)
      return () => set.delete(untyped)
    },
    /** Fails every pending call (used when the transport closes) and stops listening. */
    close(reason = 'The connection to the control center closed'): void {
      for (const call of pending.values()) call.reject(new AppError('unavailable', reason))
      pending.clear()
      stop()
    },
  }
}
