import { createServer, type Server } from 'node:net'
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { silentLogger } from '../../../src-shared/log.ts'
import { topics } from '../../../src-shared/protocol/topics.ts'
import { connectMqttMessageBus } from './mqttMessageBus.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from './embeddedBroker.ts'

const secret = 'control-center-secret-for-tests-0123456789'
const devicePasswords: Record<string, string> = { 'd-1': 'pw-one', 'd-2': 'pw-two' }

let broker: EmbeddedBroker
const clients: MqttClient[] = []

beforeEach(async () => {
  broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    controlCenterSecret: secret,
    verifyDevicePassword: async (deviceId, password) => devicePasswords[deviceId] === password,
    log: silentLogger,
  })
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)))
  await broker.close()
})

async function connectClient(options: IClientOptions): Promise<MqttClient> {
  const client = await connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5000, ...options }, false)
  clients.push(client)
  return client
}

const asDevice = (deviceId: string, password = devicePasswords[deviceId]) =>
  connectClient({ clientId: deviceId, username: deviceId, ...(password === undefined ? {} : { password }) })
const asControlCenter = () => connectClient({ clientId: 'control-center-test', username: 'control-center', password: secret })

/** Resolves with the next message on `topic`, or undefined after `timeoutMs`. */
function nextMessage(client: MqttClient, topic: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage)
      resolve(undefined)
    }, timeoutMs)
    const onMessage = (received: string, payload: Buffer) => {
      if (received !== topic) return
      clearTimeout(timer)
      client.off('message', onMessage)
      resolve(payload)
    }
    client.on('message', onMessage)
  })
}

function closed(client: MqttClient, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve(true)
    const timer = setTimeout(() => resolve(false), timeoutMs)
    client.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

describe('embedded broker', () => {
  it('lets a device and the control center talk on the device’s own topics', async () => {
    const controlCenter = await asControlCenter()
    await controlCenter.subscribeAsync(topics.allUpFilter, { qos: 1 })
    const device = await asDevice('d-1')
    const granted = await device.subscribeAsync(topics.deviceDownFilter('d-1'), { qos: 1 })
    expect(granted[0]!.qos).toBe(1)

    const up = nextMessage(controlCenter, topics.heartbeat('d-1'), 5000)
    await device.publishAsync(topics.heartbeat('d-1'), 'hello', { qos: 1 })
    expect((await up)?.toString()).toBe('hello')

    const down = nextMessage(device, topics.desired('d-1'), 5000)
    await controlCenter.publishAsync(topics.desired('d-1'), 'directive', { qos: 1 })
    expect((await down)?.toString()).toBe('directive')
  })

  it.each([
    ['a wrong password', { clientId: 'd-1', username: 'd-1', password: 'wrong' }],
    ['an unknown device', { clientId: 'd-9', username: 'd-9', password: 'pw-one' }],
    ['no password', { clientId: 'd-1', username: 'd-1' }],
    ['a client id other than the username', { clientId: 'd-2', username: 'd-1', password: 'pw-one' }],
    ['a wrong control-center secret', { clientId: 'cc', username: 'control-center', password: 'guess' }],
  ])('refuses %s', async (_case, options) => {
    await expect(connectClient(options)).rejects.toThrow(/Not authorized|Bad username|Identifier rejected|refused/i)
  })

  it('refuses a subscription to anything but the device’s own down/ subtree', async () => {
    const device = await asDevice('d-1')
    for (const filter of ['#', 'outpost/v1/d/+/down/#', topics.deviceDownFilter('d-2'), topics.allUpFilter, '$SYS/#']) {
      // mqtt.js rejects a subscription the broker answered with SUBACK 0x80.
      await expect(device.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow(/Subscribe error/)
    }
    expect(device.connected).toBe(true)
  })

  it('drops a publish into another device’s subtree and disconnects the sender', async () => {
    const controlCenter = await asControlCenter()
    await controlCenter.subscribeAsync(topics.allUpFilter, { qos: 1 })
    const intruder = await asDevice('d-2')
    const victimTopic = topics.telemetry('d-1')
    const received = nextMessage(controlCenter, victimTopic, 1500)
    const intruderClosed = closed(intruder, 5000)
    intruder.publish(victimTopic, 'forged', { qos: 0 })
    expect(await received).toBeUndefined()
    expect(await intruderClosed).toBe(true)
  })

  it('drops a device publish on its own down/ topics', async () => {
    const watcher = await asDevice('d-1')
    await watcher.subscribeAsync(topics.deviceDownFilter('d-1'), { qos: 1 })
    const other = await asDevice('d-2')
    const received = nextMessage(watcher, topics.desired('d-1'), 1500)
    other.publish(topics.desired('d-1'), 'forged directive', { qos: 0 })
    expect(await received).toBeUndefined()
  })

  it('cuts a connection that sends a packet over 256 KiB and passes a 200 KiB one', async () => {
    const controlCenter = await asControlCenter()
    await controlCenter.subscribeAsync(topics.allUpFilter, { qos: 1 })
    const device = await asDevice('d-1')
    const fits = nextMessage(controlCenter, topics.report('d-1'), 5000)
    await device.publishAsync(topics.report('d-1'), Buffer.alloc(200 * 1024, 1), { qos: 1 })
    expect((await fits)?.length).toBe(200 * 1024)

    const tooLarge = nextMessage(controlCenter, topics.report('d-1'), 1500)
    const deviceClosed = closed(device, 5000)
    device.publish(topics.report('d-1'), Buffer.alloc(300 * 1024, 2), { qos: 0 })
    expect(await deviceClosed).toBe(true)
    expect(await tooLarge).toBeUndefined()
  })

  it('lets the control center publish chunk lists above the device cap', async () => {
    const controlCenter = await asControlCenter()
    const device = await asDevice('d-1')
    await device.subscribeAsync(topics.deviceDownFilter('d-1'), { qos: 1 })
    const topic = topics.chunkList('d-1', 'a'.repeat(64))
    const received = nextMessage(device, topic, 5000)
    await controlCenter.publishAsync(topic, Buffer.alloc(600 * 1024, 3), { qos: 1 })
    expect((await received)?.length).toBe(600 * 1024)
  })

  it('fails with port-in-use, naming the port, when the port is taken', async () => {
    const error = await startEmbeddedBroker({
      host: '127.0.0.1', port: broker.port, controlCenterSecret: secret, verifyDevicePassword: async () => false, log: silentLogger,
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('port-in-use')
    expect((error as AppError).message).toBe(
      `MQTT port ${broker.port} on 127.0.0.1 is in use; pass --broker-port <n> or stop the other broker`,
    )
  })

  it('closes idempotently, disconnecting clients', async () => {
    const device = await asDevice('d-1')
    const deviceClosed = closed(device, 5000)
    await Promise.all([broker.close(), broker.close()])
    expect(await deviceClosed).toBe(true)
  })
})

describe('mqttMessageBus', () => {
  it('publishes, subscribes and delivers bytes as the control center', async () => {
    const bus = await connectMqttMessageBus({
      url: broker.url, username: 'control-center', password: secret, clientId: 'control-center-bus', connectTimeoutMs: 5000, log: silentLogger,
    })
    try {
      const received: Array<[string, string]> = []
      bus.onMessage((topic, payload) => received.push([topic, Buffer.from(payload).toString()]))
      await bus.subscribe(topics.allUpFilter)
      const device = await asDevice('d-1')
      await device.subscribeAsync(topics.deviceDownFilter('d-1'), { qos: 1 })
      const down = nextMessage(device, topics.desired('d-1'), 5000)
      await bus.publish(topics.desired('d-1'), new TextEncoder().encode('{"x":1}'), { qos: 1 })
      expect((await down)?.toString()).toBe('{"x":1}')
      await device.publishAsync(topics.sync('d-1'), 'sync', { qos: 1 })
      for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(received).toEqual([[topics.sync('d-1'), 'sync']])
    } finally {
      await bus.close()
      await bus.close()
    }
    await expect(bus.publish('outpost/v1/x', new Uint8Array(), { qos: 0 })).rejects.toMatchObject({ code: 'unavailable' })
  })

  it('names an invalid URL, refused credentials and an unreachable broker', async () => {
    const base = { clientId: 'control-center-x', connectTimeoutMs: 1500, log: silentLogger }
    await expect(connectMqttMessageBus({ ...base, url: 'localhost:1883' })).rejects.toMatchObject({ code: 'broker-url-invalid' })
    await expect(
      connectMqttMessageBus({ ...base, url: broker.url, username: 'control-center', password: 'wrong' }),
    ).rejects.toMatchObject({ code: 'unauthorized' })

    // A listener that accepts TCP but never answers MQTT: nothing connects within the bound.
    const silent: Server = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const address = silent.address()
    const port = typeof address === 'object' && address ? address.port : 0
    try {
      const error = await connectMqttMessageBus({ ...base, url: `mqtt://127.0.0.1:${port}` }).catch((e: unknown) => e)
      expect((error as AppError).code).toBe('broker-unreachable')
      expect((error as AppError).message).toContain(`mqtt://127.0.0.1:${port}`)
    } finally {
      silent.close()
    }
  })
})
