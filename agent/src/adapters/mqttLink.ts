/**
 * AgentLink over mqtt.js. mqtt.js's own reconnect timer is off (reconnectPeriod 0): each attempt is a fresh
 * client, scheduled with capped exponential backoff and jitter, so a broker outage never ends the agent and a
 * fleet of agents does not reconnect in lockstep. Every attempt carries a fresh last will.
 */
import mqtt from 'mqtt'
import type { MqttClient } from 'mqtt'
import { AppError } from '../../../src-shared/errors.ts'
import type { Logger } from '../../../src-shared/rpc/types.ts'
import { type BackoffPolicy, defaultBackoffPolicy, reconnectDelayMs } from '../core/backoff.ts'
import type { AgentLink, PublishOptions } from '../ports/agentLink.ts'

export interface MqttLinkOptions {
  url: string
  /** Client id and username are both the device id (anchors-security.md §10.10). */
  deviceId: string
  password?: string
  /** Built before every attempt, so the will's timestamp is current. */
  will: () => { topic: string; payload: Uint8Array; retain: boolean }
  backoff?: BackoffPolicy
  /** Random numbers in [0, 1) for jitter. */
  random?: () => number
  connectTimeoutMs?: number
  keepaliveS?: number
  /**
   * Fault injection (simulator `--fault-flaky-network`): each connection is cut after an exponentially distributed
   * time with this mean, as a network failure would (no DISCONNECT, so the broker publishes the last will).
   */
  flaky?: { meanConnectedMs: number; random: () => number }
  log: Logger
}

const FAREWELL_TIMEOUT_MS = 2_000

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export function createMqttLink(options: MqttLinkOptions): AgentLink {
  const backoff = options.backoff ?? defaultBackoffPolicy
  const random = options.random ?? Math.random
  const connectListeners: Array<() => void> = []
  const disconnectListeners: Array<() => void> = []
  const messageListeners: Array<(topic: string, payload: Uint8Array) => void> = []
  let client: MqttClient | undefined
  let isOnline = false
  let isClosed = false
  let failedAttempts = 0
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let lastError: string | undefined
  let flakyTimer: ReturnType<typeof setTimeout> | undefined

  const notify = (listeners: Array<() => void>) => {
    for (const listener of listeners) {
      try {
        listener()
      } catch (error) {
        options.log.error('link listener failed', error)
      }
    }
  }

  const scheduleRetry = () => {
    if (isClosed || retryTimer !== undefined) return
    const delayMs = reconnectDelayMs(failedAttempts, random(), backoff)
    failedAttempts += 1
    options.log.warn('broker unreachable; retrying', { deviceId: options.deviceId, delayMs, reason: lastError ?? 'connection closed' })
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      attempt()
    }, delayMs)
  }

  const attempt = () => {
    if (isClosed) return
    const will = options.will()
    let attemptClient: MqttClient
    try {
      attemptClient = mqtt.connect(options.url, {
      clientId: options.deviceId,
      username: options.deviceId,
      ...(options.password === undefined ? {} : { password: options.password }),
      clean: true,
      reconnectPeriod: 0,
      resubscribe: false,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      keepalive: options.keepaliveS ?? 30,
      will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: will.retain },
      })
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error)
      scheduleRetry()
      return
    }
    client = attemptClient
    lastError = undefined
    attemptClient.on('connect', () => {
      if (client !== attemptClient) return
      isOnline = true
      failedAttempts = 0
      const flaky = options.flaky
      if (flaky !== undefined) {
        clearTimeout(flakyTimer)
        const upMs = -Math.log(1 - Math.min(flaky.random(), 0.999_999)) * flaky.meanConnectedMs
        flakyTimer = setTimeout(() => {
          if (client !== attemptClient || isClosed) return
          options.log.warn('fault injection: cutting the broker connection', { deviceId: options.deviceId })
          attemptClient.stream.destroy()
        }, upMs)
      }
      notify(connectListeners)
    })
    attemptClient.on('message', (topic, payload) => {
      if (client !== attemptClient) return
      for (const listener of messageListeners) {
        try {
          listener(topic, payload)
        } catch (error) {
          options.log.error('message listener failed', error, { topic })
        }
      }
    })
    attemptClient.on('error', (error) => {
      lastError = error.message
    })
    attemptClient.on('close', () => {
      if (client !== attemptClient) return
      const wasOnline = isOnline
      isOnline = false
      client = undefined
      attemptClient.removeAllListeners()
      // Swallow late errors from a stream that is being torn down.
      attemptClient.on('error', () => {})
      attemptClient.end(true)
      if (wasOnline) notify(disconnectListeners)
      scheduleRetry()
    })
  }

  return {
    start() {
      if (client !== undefined || retryTimer !== undefined || isClosed) return
      attempt()
    },

    isConnected: () => isOnline,

    onConnect(listener) {
      connectListeners.push(listener)
    },

    onDisconnect(listener) {
      disconnectListeners.push(listener)
    },

    onMessage(listener) {
      messageListeners.push(listener)
    },

    async subscribe(filter) {
      if (!isOnline || client === undefined) throw new AppError('unavailable', 'Not connected to the broker')
      const grants = await client.subscribeAsync(filter, { qos: 1 })
      // [MQTT-3.9.3] return code 0x80 means the broker refused the subscription (an ACL said no).
      if (grants.some((grant) => grant.qos === 128)) throw new AppError('forbidden', `The broker refused the subscription to ${filter}`)
    },

    async publish(topic: string, payload: Uint8Array, publishOptions: PublishOptions) {
      if (!isOnline || client === undefined) throw new AppError('unavailable', 'Not connected to the broker')
      await client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), {
        qos: publishOptions.qos,
        retain: publishOptions.retain ?? false,
      })
    },

    async close(farewell) {
      isClosed = true
      clearTimeout(flakyTimer)
      if (retryTimer !== undefined) clearTimeout(retryTimer)
      retryTimer = undefined
      const closing = client
      client = undefined
      if (closing === undefined) return
      if (isOnline && farewell !== undefined) {
        await withTimeout(
          closing.publishAsync(farewell.topic, Buffer.from(farewell.payload), { qos: 1, retain: farewell.retain }).catch(() => undefined),
          FAREWELL_TIMEOUT_MS,
        )
      }
      isOnline = false
      const ended = await withTimeout(closing.endAsync().then(() => true), FAREWELL_TIMEOUT_MS)
      if (ended === undefined) closing.end(true)
      closing.removeAllListeners()
      closing.on('error', () => {})
    },
  }
}
