import { z } from 'zod'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { AppError } from '../errors.ts'
import { silentLogger } from '../log.ts'
import { createRpcClient } from './createRpcClient.ts'
import type { RpcMessage } from './envelope.ts'
import { isRpcMessage } from './envelope.ts'
import { memoryTransportPair } from './memoryTransport.ts'
import { createEventHub, serveContract } from './serveContract.ts'
import type { Handlers } from './types.ts'

const methods = {
  'math.double': { input: z.object({ value: z.number() }), output: z.object({ doubled: z.number() }) },
  'math.fail': { input: z.object({}), output: z.null() },
  'math.crash': { input: z.object({}), output: z.null() },
} as const
const events = { 'math.ticked': z.object({ count: z.number().int() }) } as const

function setup() {
  const [clientSide, serverSide] = memoryTransportPair()
  const handlers: Handlers<typeof methods> = {
    'math.double': async ({ value }) => ({ doubled: value * 2 }),
    'math.fail': async () => {
      throw new AppError('not-found', 'Device d-9 is not registered', { deviceId: 'd-9' })
    },
    'math.crash': async () => {
      throw new TypeError('secret internals at /home/user/src/thing.ts:12')
    },
  }
  serveContract(methods, handlers, serverSide, silentLogger, { connectionId: 'test' })
  const hub = createEventHub(events, silentLogger)
  hub.attach(serverSide)
  const client = createRpcClient(methods, events, clientSide, { validate: true })
  return { client, hub, clientSide }
}

describe('RPC over the memory transport', () => {
  it('round-trips a typed call', async () => {
    const { client } = setup()
    const result = client.call('math.double', { value: 21 })
    expectTypeOf(result).toEqualTypeOf<Promise<{ doubled: number }>>()
    await expect(result).resolves.toEqual({ doubled: 42 })
  })

  it('rejects input that breaks the schema with invalid-input', async () => {
    const { client } = setup()
    // @ts-expect-error value must be a number: the server must still refuse it at run time
    await expect(client.call('math.double', { value: 'x' })).rejects.toMatchObject({ code: 'invalid-input' })
  })

  it('refuses unknown methods', async () => {
    const { clientSide } = setup()
    const answers: RpcMessage[] = []
    clientSide.onMessage((message) => answers.push(message))
    clientSide.send({ kind: 'call', id: 99, method: 'system.shutdown', input: {} })
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(answers).toEqual([{ kind: 'result', id: 99, ok: false, error: expect.objectContaining({ code: 'invalid-input' }) }])
  })

  it('carries AppError code, message and details across the transport', async () => {
    const { client } = setup()
    const error = await client.call('math.fail', {}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AppError)
    expect(error).toMatchObject({ code: 'not-found', message: 'Device d-9 is not registered', details: { deviceId: 'd-9' } })
  })

  it('turns unexpected exceptions into internal without leaking the message', async () => {
    const { client } = setup()
    const error = (await client.call('math.crash', {}).catch((caught: unknown) => caught)) as AppError
    expect(error.code).toBe('internal')
    expect(error.message).not.toContain('/home/user')
  })

  it('pushes events to subscribers and stops after unsubscribe', async () => {
    const { client, hub } = setup()
    const seen: number[] = []
    const off = client.on('math.ticked', ({ count }) => seen.push(count))
    hub.emit('math.ticked', { count: 1 })
    await new Promise((resolve) => setTimeout(resolve, 5))
    off()
    hub.emit('math.ticked', { count: 2 })
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(seen).toEqual([1])
  })

  it('refuses to push an event whose payload breaks its schema', async () => {
    const { client, hub } = setup()
    const seen: unknown[] = []
    client.on('math.ticked', (payload) => seen.push(payload))
    // @ts-expect-error count must be an integer: the hub must drop it at run time
    hub.emit('math.ticked', { count: 'many' })
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(seen).toEqual([])
  })

  it('fails pending calls when the client closes', async () => {
    const [clientSide] = memoryTransportPair()
    const client = createRpcClient(methods, events, clientSide)
    const pending = client.call('math.double', { value: 1 })
    client.close()
    await expect(pending).rejects.toMatchObject({ code: 'unavailable' })
  })

  it('times out a call nobody answers', async () => {
    const [clientSide] = memoryTransportPair()
    const client = createRpcClient(methods, events, clientSide, { callTimeoutMs: 10 })
    await expect(client.call('math.double', { value: 1 })).rejects.toMatchObject({ code: 'timeout' })
  })

  it('recognizes well-formed envelopes only', () => {
    expect(isRpcMessage({ kind: 'call', id: 1, method: 'a.b', input: {} })).toBe(true)
    expect(isRpcMessage({ kind: 'call', id: -1, method: 'a.b', input: {} })).toBe(false)
    expect(isRpcMessage({ kind: 'result', id: 1, ok: false, error: { code: 'nope', message: 'x' } })).toBe(false)
    expect(isRpcMessage('call')).toBe(false)
  })
})
