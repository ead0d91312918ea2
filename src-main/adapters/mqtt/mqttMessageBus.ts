/** MessageBus over mqtt.js: the control center's single connection to the broker (embedded or external). */
import { connect, type IClientOptions, type MqttClient } from 'mqtt'
import { AppError } from '../../../src-shared/errors.ts'
import type { Logger } from '../../../src-shared/rpc/types.ts'
import { checkBrokerUrl } from '../../core/config/brokerUrl.ts'
import type { MessageBus } from '../../ports/MessageBus.ts'

export interface MqttMessageBusOptions {
  url: string
  username?: string | undefined
  password?: string | undefined
  clientId: string
  /** How long startup waits for the first connection before failing with 'broker-unreachable'. */
  connectTimeoutMs: number
  log: Logger
}

/** CONNACK codes 4 and 5 (MQTT 3.1.1), 134 and 135 (MQTT 5): the broker refused the credentials. */
const REFUSED_CREDENTIAL_CODES = new Set([4, 5, 134, 135])
/** How long close() lets queued messages drain before cutting the connection. */
const CLOSE_GRACE_MS = 2000

/**
 * Connects and resolves once the broker accepted the connection. Throws AppError 'broker-url-invalid',
 * 'broker-unreachable' (nothing answered in time) or 'unauthorized' (credentials refused).
 */
export async function connectMqttMessageBus(options: MqttMessageBusOptions): Promise<MessageBus> {
  const { log } = options
  const checked = checkBrokerUrl(options.url)
  if (!checked.ok) {
    throw new AppError('broker-url-invalid', `Broker URL '${options.url}' is not valid (${checked.reason}); use mqtt://HOST:PORT`, {
      url: options.url,
    })
  }
  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 1000,
    connectTimeout: Math.max(1000, Math.min(options.connectTimeoutMs, 30_000)),
    resubscribe: true,
  }
  const username = options.username ?? checked.username
  const password = options.password ?? checked.password
  if (username !== undefined) clientOptions.username = username
  if (password !== undefined) clientOptions.password = password

  const client = connect(checked.url, clientOptions)
  await waitForFirstConnection(client, checked.displayUrl, options.connectTimeoutMs)
  log.info('Connected to the MQTT broker', { url: checked.displayUrl })

  const listeners = new Set<(topic: string, payload: Uint8Array) => void>()
  let isClosed = false
  let wasOffline = false
  client.on('message', (topic, payload) => {
    for (const listener of listeners) {
      try {
        listener(topic, payload)
      } catch (error) {
        log.error('An MQTT message listener threw', error, { topic })
      }
    }
  })
  client.on('offline', () => {
    if (isClosed || wasOffline) return
    wasOffline = true
    log.warn('Lost the connection to the MQTT broker; reconnecting', { url: checked.displayUrl })
  })
  client.on('connect', () => {
    if (!wasOffline) return
    wasOffline = false
    log.info('Reconnected to the MQTT broker', { url: checked.displayUrl })
  })
  client.on('error', (error) => log.warn('MQTT client error', { url: checked.displayUrl, reason: error.message }))

  let closing: Promise<void> | undefined
  return {
    async publish(topic, payload, publishOptions) {
      if (isClosed) throw new AppError('unavailable', 'The control center is shutting down')
      await client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: publishOptions.qos })
    },
    async subscribe(filter) {
      // mqtt.js rejects when the broker answers SUBACK 0x80 (refused by its ACL).
      await client.subscribeAsync(filter, { qos: 1 }).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error)
        throw new AppError('forbidden', `The MQTT broker refused the subscription to ${filter} (${reason})`, { filter })
      })
    },
    onMessage(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close() {
      closing ??= (async () => {
        isClosed = true
        listeners.clear()
        let timer: ReturnType<typeof setTimeout> | undefined
        const graceful = client.endAsync(false)
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), CLOSE_GRACE_MS)
        })
        const outcome = await Promise.race([graceful.then(() => 'ended' as const), timedOut])
        clearTimeout(timer)
        if (outcome === 'timeout') await client.endAsync(true)
      })()
      return closing
    },
  }
}

function waitForFirstConnection(client: MqttClient, displayUrl: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let lastError = ''
    const finish = (error?: AppError) => {
      clearTimeout(timer)
      client.off('connect', onConnect)
      client.off('error', onError)
      if (error === undefined) return resolve()
      client.end(true)
      reject(error)
    }
    const onConnect = () => finish()
    const onError = (error: Error & { code?: unknown }) => {
      lastError = error.message
      if (typeof error.code === 'number' && REFUSED_CREDENTIAL_CODES.has(error.code)) {
        finish(
          new AppError('unauthorized', `The MQTT broker at ${displayUrl} refused the control center's credentials (${error.message})`, {
            url: displayUrl,
          }),
        )
      }
    }
    const timer = setTimeout(() => {
      const seconds = Math.round(timeoutMs / 100) / 10
      finish(
        new AppError(
          'broker-unreachable',
          `Cannot reach the MQTT broker at ${displayUrl} within ${seconds} s${lastError ? ` (${lastError})` : ''}; check the URL and that the broker is running`,
          { url: displayUrl },
        ),
      )
    }, timeoutMs)
    client.on('connect', onConnect)
    client.on('error', onError)
  })
}
