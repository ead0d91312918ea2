/**
 * Test support: an in-process aedes broker on 127.0.0.1 with the device ACL of protocol/topics.ts, and a harness that
 * plays the control center through the broker's own API (sends directives, answers chunk-list and chunk requests).
 * Used only by tests.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { type Server, type Socket, createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Aedes } from 'aedes'
import { buildTinyClassifier } from '../../../fixtures/scripts/tinyClassifier.ts'
import {
  type ArtifactRef,
  type ChunkList,
  type Directive,
  PROTOCOL_VERSION,
  PieceRequest,
  encodeMessage,
  parseMessage,
} from '../../../src-shared/protocol/messages.ts'
import { type UpKind, canDevicePublish, canDeviceSubscribe, parseUpTopic, topics } from '../../../src-shared/protocol/topics.ts'

export const fixtureModelPath = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/models/tiny-classifier.onnx')

export function readFixtureModel(): Uint8Array {
  return new Uint8Array(readFileSync(fixtureModelPath))
}

/** Another working classifier with the fixture's inputs and outputs but its own weights (and SHA-256). */
export function buildVariantModel(seed: number): Uint8Array {
  return buildTinyClassifier(seed)
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

export interface TestBroker {
  broker: Aedes
  /** Password each client id last authenticated with (empty string when none was sent). */
  passwords: Map<string, string>
  port: number
  url: string
  /** Drops every client connection abruptly and stops listening (a broker crash, as devices see it). */
  close(): Promise<void>
}

export async function startTestBroker(port = 0): Promise<TestBroker> {
  const passwords = new Map<string, string>()
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, callback) => {
      passwords.set(client.id, password === undefined ? '' : Buffer.from(password).toString('utf8'))
      callback(null, username === client.id || username === 'control-center')
    },
    authorizePublish: (client, packet, callback) => {
      if (client === null || canDevicePublish(client.id, packet.topic)) callback(null)
      else callback(new Error(`${client.id} may not publish on ${packet.topic}`))
    },
    authorizeSubscribe: (client, subscription, callback) =>
      callback(null, canDeviceSubscribe(client.id, subscription.topic) ? subscription : null),
  })
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    broker.handle(socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('broker has no TCP address')
  return {
    broker,
    passwords,
    port: address.port,
    url: `mqtt://127.0.0.1:${address.port}`,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await new Promise<void>((resolve) => broker.close(() => resolve()))
    },
  }
}

export interface UpMessage {
  deviceId: string
  kind: UpKind
  topic: string
  /** Parsed JSON of the payload. */
  body: Record<string, unknown>
}

export interface ServedArtifact {
  ref: ArtifactRef
  bytes: Uint8Array
  chunkListBytes: Uint8Array
  chunks: Uint8Array[]
}

export function buildArtifact(
  bytes: Uint8Array,
  options: { chunkSizeBytes: number; modelId?: string; name?: string; version?: string },
): ServedArtifact {
  const chunks: Uint8Array[] = []
  for (let offset = 0; offset < bytes.byteLength; offset += options.chunkSizeBytes) {
    chunks.push(bytes.subarray(offset, Math.min(bytes.byteLength, offset + options.chunkSizeBytes)))
  }
  const modelSha = sha256(bytes)
  const chunkList: ChunkList = { v: PROTOCOL_VERSION, sha256: modelSha, chunkSizeBytes: options.chunkSizeBytes, chunks: chunks.map(sha256) }
  const chunkListBytes = encodeMessage(chunkList)
  return {
    bytes,
    chunks,
    chunkListBytes,
    ref: {
      modelId: options.modelId ?? 'm-0123456789ab',
      name: options.name ?? 'tiny-classifier',
      version: options.version ?? '1.0.0',
      format: 'onnx',
      sha256: modelSha,
      sizeBytes: bytes.byteLength,
      chunkSizeBytes: options.chunkSizeBytes,
      chunkCount: chunks.length,
      chunkListSha256: sha256(chunkListBytes),
    },
  }
}

export interface ServeBehaviour {
  /** Answer with altered bytes for these chunk indices. */
  tamper?: (index: number) => boolean
  /** Leave these chunk requests unanswered. */
  hold?: (index: number) => boolean
}

/**
 * Plays the control center over a TestBroker: observes every device message, answers piece requests and, like the
 * real control center, acknowledges trial reports with progress 1 (unless `isAckingTrials` is false).
 */
export class ControlCenterHarness {
  readonly messages: UpMessage[] = []
  isAckingTrials = true
  readonly #broker: Aedes
  readonly #served = new Map<string, { artifact: ServedArtifact; behaviour: ServeBehaviour }>()
  readonly #waiters = new Set<() => void>()

  constructor(testBroker: TestBroker) {
    this.#broker = testBroker.broker
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.#broker.subscribe(
        topics.allUpFilter,
        (packet, callback) => {
          this.#onUp(packet.topic, new Uint8Array(packet.payload as Buffer))
          callback()
        },
        resolve,
      ),
    )
  }

  serve(artifact: ServedArtifact, behaviour: ServeBehaviour = {}): void {
    this.#served.set(artifact.ref.sha256, { artifact, behaviour })
  }

  async sendDirective(directive: Directive): Promise<void> {
    await this.publish(topics.desired(directive.deviceId), encodeMessage(directive))
  }

  installDirective(deviceId: string, seq: number, artifact: ServedArtifact): Directive {
    return { v: PROTOCOL_VERSION, deviceId, seq, issuedAt: new Date().toISOString(), action: 'install', artifact: artifact.ref }
  }

  publish(topic: string, payload: Uint8Array, retain = false): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.#broker.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false },
        (error) => (error ? reject(error) : resolve()),
      ),
    )
  }

  /** Messages of one kind from one device, in arrival order. */
  from(deviceId: string, kind: UpKind): UpMessage[] {
    return this.messages.filter((message) => message.deviceId === deviceId && message.kind === kind)
  }

  /** Resolves with the first message (already received or future) that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (message: UpMessage) => boolean, timeoutMs = 10_000, description = 'message'): Promise<UpMessage> {
    return new Promise<UpMessage>((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(predicate)
        if (found === undefined) return false
        clearTimeout(timer)
        this.#waiters.delete(checkAndResolve)
        resolve(found)
        return true
      }
      const checkAndResolve = () => void check()
      const timer = setTimeout(() => {
        this.#waiters.delete(checkAndResolve)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`))
      }, timeoutMs)
      if (!check()) this.#waiters.add(checkAndResolve)
    })
  }

  waitForReport(deviceId: string, state: string, seq: number, timeoutMs = 10_000): Promise<UpMessage> {
    return this.waitFor(
      (message) => message.deviceId === deviceId && message.kind === 'report' && message.body.state === state && message.body.directiveSeq === seq,
      timeoutMs,
      `report ${state} for seq ${seq} from ${deviceId}`,
    )
  }

  #onUp(topic: string, payload: Uint8Array): void {
    const up = parseUpTopic(topic)
    if (up === undefined) return
    let body: Record<string, unknown>
    try {
      body = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>
    } catch {
      return
    }
    this.messages.push({ deviceId: up.deviceId, kind: up.kind, topic, body })
    if (up.kind === 'req') this.#answer(up.deviceId, payload)
    if (up.kind === 'report' && body.state === 'trial' && body.progress === 1 && this.isAckingTrials) this.ackTrial(up.deviceId, body)
    for (const waiter of [...this.#waiters]) waiter()
  }

  /** Sends the `trial-ack` command for a trial report's directive and artifact. */
  ackTrial(deviceId: string, report: Record<string, unknown>): void {
    const ack = { v: PROTOCOL_VERSION, type: 'trial-ack', directiveSeq: report.directiveSeq, modelSha256: report.modelSha256 }
    void this.publish(topics.command(deviceId), encodeMessage(ack))
  }

  #answer(deviceId: string, payload: Uint8Array): void {
    const parsed = parseMessage(PieceRequest, payload, 16 * 1024)
    if (!parsed.ok) return
    const request = parsed.value
    const served = this.#served.get(request.sha256)
    if (served === undefined) return
    if (request.piece === 'chunklist') {
      void this.publish(topics.chunkList(deviceId, request.sha256), served.artifact.chunkListBytes)
      return
    }
    const chunk = served.artifact.chunks[request.index]
    if (chunk === undefined || served.behaviour.hold?.(request.index) === true) return
    const bytes = Uint8Array.from(chunk)
    if (served.behaviour.tamper?.(request.index) === true) bytes[0] = (bytes[0] ?? 0) ^ 0xff
    void this.publish(topics.chunk(deviceId, request.sha256, request.index), bytes)
  }
}
