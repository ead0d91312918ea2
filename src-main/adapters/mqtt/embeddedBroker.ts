/**
 * The embedded MQTT broker (aedes) with Outpost's authentication and ACL (anchors-security.md §10.10): the control
 * center logs in with the per-data-dir secret; a device logs in with its own password, its client id must equal
 * its username, and it may publish only under its `up/` subtree and subscribe only to its `down/` subtree.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type Socket } from 'node:net'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import { DeviceId } from '../../../src-shared/domain/ids.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { canDevicePublish, canDeviceSubscribe } from '../../../src-shared/protocol/topics.ts'
import { MAX_CHUNK_LIST_BYTES } from '../../../src-shared/protocol/messages.ts'
import type { Logger } from '../../../src-shared/rpc/types.ts'
import { CONTROL_CENTER_TOPIC_PREFIX, CONTROL_CENTER_USERNAME } from '../../core/fleet/brokerIdentity.ts'
import { brokerUrlFor } from '../../core/config/brokerUrl.ts'
import { guardConnection, type GuardedConnection } from './packetSizeGuard.ts'

/** 128 KiB chunks plus topic and header fit; anything else is far smaller (anchors-security.md §10.10). */
export const MAX_DEVICE_PACKET_BYTES = 256 * 1024
/** The control center also publishes chunk lists, up to MAX_CHUNK_LIST_BYTES. */
const MAX_CONTROL_CENTER_PACKET_BYTES = MAX_CHUNK_LIST_BYTES + 64 * 1024

export interface EmbeddedBrokerOptions {
  host: string
  /** 0 picks a free port. */
  port: number
  controlCenterSecret: string
  /** True when the password matches the enrolled device's stored hash. */
  verifyDevicePassword(deviceId: string, password: string): Promise<boolean>
  log: Logger
  /** Host name to show in URLs when listening on a wildcard address. */
  wildcardHost?: string
}

export interface EmbeddedBroker {
  host: string
  port: number
  /** The URL agents use, e.g. mqtt://127.0.0.1:1883. */
  url: string
  /** Stops accepting, disconnects every client; idempotent. */
  close(): Promise<void>
}

// aedes's AuthErrorCode is a const enum, which erasable TypeScript cannot import; these are MQTT 3.1.1 CONNACK codes.
const IDENTIFIER_REJECTED = 2
const SERVER_UNAVAILABLE = 3
const BAD_USERNAME_OR_PASSWORD = 4

function authError(returnCode: number, message: string): AuthenticateError {
  const error = new Error(message) as AuthenticateError
  error.returnCode = returnCode
  return error
}

/** Compares secrets in constant time whatever their lengths. */
function isSameSecret(given: Buffer, expected: string): boolean {
  const digest = (value: Buffer | string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

/** Starts aedes on a TCP server. Throws AppError 'port-in-use' when the port is taken. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { log } = options
  const controlCenterClients = new WeakSet<Client>()
  const connections = new WeakMap<object, GuardedConnection>()
  const sockets = new Set<Socket>()

  const broker = await Aedes.createBroker({
    // Device ids are up to 64 characters; the default of 23 would refuse them.
    maxClientsIdLength: 64,
    // outpost/v1/d/<id>/down/chunk/<sha256>/<index> is the deepest topic: 8 levels.
    maxTopicLevels: 8,
    // A client that stops reading is dropped instead of holding chunks in memory.
    drainTimeout: 20_000,
    authenticate(client, username, password, done) {
      if (!username || !password) return done(authError(BAD_USERNAME_OR_PASSWORD, 'Username and password required'), null)
      if (username === CONTROL_CENTER_USERNAME) {
        if (!isSameSecret(password, options.controlCenterSecret)) {
          log.warn('Refused a control-center login with a wrong secret', { clientId: client.id })
          return done(authError(BAD_USERNAME_OR_PASSWORD, 'Bad username or password'), null)
        }
        controlCenterClients.add(client)
        connections.get(client.conn)?.setMaxPacketBytes(MAX_CONTROL_CENTER_PACKET_BYTES)
        return done(null, true)
      }
      if (client.id !== username) {
        log.warn('Refused a device login whose client id differs from its username', { username, clientId: client.id })
        return done(authError(IDENTIFIER_REJECTED, 'Client id must equal username'), null)
      }
      if (!DeviceId.safeParse(username).success) return done(authError(BAD_USERNAME_OR_PASSWORD, 'Bad username or password'), null)
      options.verifyDevicePassword(username, password.toString('utf8')).then(
        (isValid) => {
          if (isValid) return done(null, true)
          log.warn('Refused a device login with a wrong password or an unknown device', { deviceId: username })
          done(authError(BAD_USERNAME_OR_PASSWORD, 'Bad username or password'), null)
        },
        (error: unknown) => {
          log.error('Could not check device credentials', error, { deviceId: username })
          done(authError(SERVER_UNAVAILABLE, 'Credential check failed'), null)
        },
      )
    },
    authorizePublish(client, packet, callback) {
      // client is null for messages the broker publishes itself ($SYS heartbeats).
      if (client === null) return callback(null)
      const isAllowed = controlCenterClients.has(client)
        ? packet.topic.startsWith(CONTROL_CENTER_TOPIC_PREFIX)
        : canDevicePublish(client.id, packet.topic)
      if (isAllowed) return callback(null)
      log.warn('Refused a publish outside its own topics', { clientId: client.id, topic: packet.topic.slice(0, 200) })
      callback(new Error('Not authorized to publish on this topic'))
    },
    authorizeSubscribe(client, subscription, callback) {
      const isAllowed = controlCenterClients.has(client)
        ? subscription.topic.startsWith(CONTROL_CENTER_TOPIC_PREFIX)
        : canDeviceSubscribe(client.id, subscription.topic)
      if (isAllowed) return callback(null, subscription)
      log.warn('Refused a subscription outside its own topics', { clientId: client.id, filter: subscription.topic.slice(0, 200) })
      // A null subscription answers SUBACK 0x80 for this filter and keeps the connection.
      callback(null, null)
    },
  })

  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => {
      // A reset connection is routine for a broker; aedes logs nothing either.
    })
    const connection = guardConnection(socket, MAX_DEVICE_PACKET_BYTES, (reason) =>
      log.warn('Closed an MQTT connection that sent an oversized packet', { remoteAddress: socket.remoteAddress, reason }),
    )
    connections.set(connection.stream, connection)
    broker.handle(connection.stream)
  })

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown'
    if (code === 'EADDRINUSE') {
      throw new AppError(
        'port-in-use',
        `MQTT port ${options.port} on ${options.host} is in use; pass --broker-port <n> or stop the other broker`,
        { host: options.host, port: options.port },
      )
    }
    throw new AppError('unavailable', `Cannot listen for MQTT on ${options.host}:${options.port} (${code})`, {
      host: options.host,
      port: options.port,
      code,
    })
  }
  server.on('error', (error) => log.error('MQTT listener failed', error))

  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.port
  let closing: Promise<void> | undefined

  return {
    host: options.host,
    port,
    url: brokerUrlFor(options.host, port, options.wildcardHost),
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
        await new Promise<void>((resolve) => broker.close(() => resolve()))
        for (const socket of sockets) socket.destroy()
        await serverClosed
      })()
      return closing
    },
  }
}
