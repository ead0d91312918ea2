import { z } from 'zod'
import { AppError, toWireError } from '../errors.ts'
import type { RpcMessage, Transport } from './envelope.ts'
import type { CallContext, EventTable, Handlers, Logger, MethodTable } from './types.ts'

/**
 * Serves a contract on one transport. Every call is validated against its input schema: the renderer and,
 * in headless mode, the socket are untrusted. Returns a function that stops serving.
 */
export function serveContract<T extends MethodTable>(
  methods: T,
  handlers: Handlers<T>,
  transport: Transport,
  log: Logger,
  context: CallContext,
): () => void {
  return transport.onMessage((message: RpcMessage) => {
    if (message.kind !== 'call') return
    void handleCall(methods, handlers, transport, log, context, message)
  })
}

async function handleCall<T extends MethodTable>(
  methods: T,
  handlers: Handlers<T>,
  transport: Transport,
  log: Logger,
  context: CallContext,
  message: Extract<RpcMessage, { kind: 'call' }>,
): Promise<void> {
  const { id, method, input } = message
  try {
    if (!Object.hasOwn(methods, method)) throw new AppError('invalid-input', `Unknown method '${method}'`)
    const spec = methods[method]
    const parsed = spec!.input.safeParse(input)
    if (!parsed.success) {
      throw new AppError('invalid-input', `Invalid input for '${method}': ${z.prettifyError(parsed.error)}`)
    }
    const handler = handlers[method] as (input: unknown, context: CallContext) => Promise<unknown>
    const value = await handler(parsed.data, context)
    transport.send({ kind: 'result', id, ok: true, value: value === undefined ? null : value })
  } catch (error) {
    if (!(error instanceof AppError)) log.error(`Unhandled error in RPC handler '${method}'`, error)
    transport.send({ kind: 'result', id, ok: false, error: toWireError(error) })
  }
}

/** Fans events out to every connected transport, validating payloads so a bug cannot push a malformed event. */
export function createEventHub<E extends EventTable>(events: E, log: Logger) {
  const transports = new Set<Transport>()
  return {
    attach(transport: Transport): () => void {
      transports.add(transport)
      return () => transports.delete(transport)
    },
    emit<K extends keyof E & string>(topic: K, payload: z.infer<E[K]>): void {
      const parsed = events[topic]!.safeParse(payload)
      if (!parsed.success) {
        log.error(`Refused to push malformed event '${topic}'`, parsed.error)
        return
      }
      for (const transport of transports) transport.send({ kind: 'event', topic, payload: parsed.data })
    },
    get connectionCount(): number {
      return transports.size
    },
  }
}
export type EventHub<E extends EventTable> = ReturnType<typeof createEventHub<E>>
