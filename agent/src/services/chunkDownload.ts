/**
 * Pulls one artifact over MQTT into `staging/<sha>.part`: the chunk list first (verified against the directive's
 * chunkListSha256), then chunks with a window of outstanding requests, each verified against the list before it is
 * written. Verified chunk indices are persisted, so a restart resumes after the last verified chunk
 * (anchors-security.md §10.6 step 5, §10.8 DOWNLOADING).
 */
import { AppError } from '../../../src-shared/errors.ts'
import type { Logger } from '../../../src-shared/rpc/types.ts'
import { ChunkList, MAX_CHUNK_LIST_BYTES, PROTOCOL_VERSION, type PieceRequest, encodeMessage, parseMessage } from '../../../src-shared/protocol/messages.ts'
import { topics } from '../../../src-shared/protocol/topics.ts'
import { DEFAULT_CHUNK_WINDOW, chunkByteRange, chunkListMismatch, planChunkRequests, verifiedByteCount } from '../core/chunkTransfer.ts'
import { sha256Hex } from '../core/sha256.ts'
import type { AgentLink } from '../ports/agentLink.ts'
import type { AgentStore, InstallDirective } from '../ports/agentStore.ts'

export interface TransferSettings {
  /** Chunk requests outstanding at once. */
  windowSize: number
  /** How long a request may stay unanswered before it is sent again. */
  pieceTimeoutMs: number
  /** Tries per piece (timeouts and corrupt answers together) before the install fails. */
  maxAttemptsPerPiece: number
}

export const defaultTransferSettings: TransferSettings = { windowSize: DEFAULT_CHUNK_WINDOW, pieceTimeoutMs: 15_000, maxAttemptsPerPiece: 5 }

/** Thrown inside an install that a newer directive or shutdown cancelled; never reported. */
export class InstallAbortedError extends Error {
  override readonly name = 'InstallAbortedError'
}

export interface ChunkDownloadDeps {
  deviceId: string
  link: AgentLink
  store: AgentStore
  log: Logger
  settings: TransferSettings
  /** Counts a dropped message by reason. */
  drop: (reason: string, fields?: Record<string, unknown>) => void
  /** Called after each persisted step with the verified fraction, 0..1. */
  onProgress: (fraction: number) => void
}

interface Outstanding {
  timer: ReturnType<typeof setTimeout> | undefined
  /** Answer received and being verified or written; duplicates are dropped meanwhile. */
  isReceived: boolean
}

export class ChunkDownload {
  readonly sha256: string
  readonly chunkSizeBytes: number
  readonly #directive: InstallDirective
  readonly #deps: ChunkDownloadDeps
  readonly #outstanding = new Map<number, Outstanding>()
  readonly #attempts = new Map<number, number>()
  readonly #corruptAnswers = new Map<number, number>()
  #verified = new Set<number>()
  #verifiedBytes = 0
  #chunkHashes: string[] = []
  #persistChain: Promise<void> = Promise.resolve()
  #chunkListWaiter: { resolve: (bytes: Uint8Array) => void; timer: ReturnType<typeof setTimeout> } | undefined
  #settle: { resolve: () => void; reject: (error: unknown) => void } | undefined
  #isFinished = false

  constructor(directive: InstallDirective, deps: ChunkDownloadDeps) {
    this.#directive = directive
    this.#deps = deps
    this.sha256 = directive.artifact.sha256
    this.chunkSizeBytes = directive.artifact.chunkSizeBytes
  }

  /** Runs the transfer to a fully verified staging file. Throws AppError 'artifact-corrupt' | 'transfer-failed', or InstallAbortedError. */
  async run(signal: AbortSignal): Promise<void> {
    const artifact = this.#directive.artifact
    const onAbort = () => this.#fail(new InstallAbortedError('download cancelled'))
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      if (signal.aborted) throw new InstallAbortedError('download cancelled')
      await this.#loadOrFetchChunkList(signal)
      await this.#reverifyResumedChunks()
      this.#verifiedBytes = verifiedByteCount(this.#verified, artifact.chunkSizeBytes, artifact.sizeBytes)
      this.#deps.onProgress(Math.min(1, this.#verifiedBytes / artifact.sizeBytes))
      if (this.#verified.size < artifact.chunkCount) {
        await new Promise<void>((resolve, reject) => {
          this.#settle = { resolve, reject }
          if (signal.aborted) reject(new InstallAbortedError('download cancelled'))
          else this.#pump()
        })
      }
      await this.#persistChain
      const wholeSha256 = await this.#deps.store.finishStaging(this.sha256, artifact.sizeBytes)
      if (wholeSha256 !== this.sha256) {
        await this.#deps.store.discardDownload(this.sha256)
        throw new AppError('artifact-corrupt', 'The downloaded model does not match its SHA-256', { expected: this.sha256, actual: wholeSha256 })
      }
    } finally {
      this.#isFinished = true
      signal.removeEventListener('abort', onAbort)
      this.#clearTimers()
    }
  }

  /** The link came back: requests that were in flight are gone with the old connection, so send them again. */
  onConnected(): void {
    if (this.#chunkListWaiter !== undefined) this.#requestChunkList()
    this.#pump()
  }

  /** The link dropped: unanswered requests do not count as failed attempts. */
  onDisconnected(): void {
    for (const [index, entry] of this.#outstanding) {
      if (entry.isReceived) continue
      clearTimeout(entry.timer)
      this.#outstanding.delete(index)
      this.#attempts.set(index, Math.max(0, (this.#attempts.get(index) ?? 1) - 1))
    }
  }

  handleChunkList(payload: Uint8Array): void {
    if (this.#chunkListWaiter === undefined) {
      this.#deps.drop('unsolicited-chunklist', { sha256: this.sha256 })
      return
    }
    const waiter = this.#chunkListWaiter
    this.#chunkListWaiter = undefined
    clearTimeout(waiter.timer)
    waiter.resolve(payload)
  }

  handleChunk(index: number, payload: Uint8Array): void {
    const entry = this.#outstanding.get(index)
    if (entry === undefined || entry.isReceived || this.#isFinished || this.#settle === undefined) {
      this.#deps.drop('unsolicited-chunk', { index })
      return
    }
    clearTimeout(entry.timer)
    entry.isReceived = true
    void this.#acceptChunk(index, payload).catch((error: unknown) => this.#fail(error))
  }

  async #acceptChunk(index: number, payload: Uint8Array): Promise<void> {
    const artifact = this.#directive.artifact
    const { offsetBytes, lengthBytes } = chunkByteRange(index, artifact.chunkSizeBytes, artifact.sizeBytes)
    const actualSha256 = payload.byteLength === lengthBytes ? await sha256Hex(payload) : undefined
    if (actualSha256 === undefined || actualSha256 !== this.#chunkHashes[index]) {
      this.#corruptAnswers.set(index, (this.#corruptAnswers.get(index) ?? 0) + 1)
      this.#deps.drop(actualSha256 === undefined ? 'chunk-size-mismatch' : 'chunk-hash-mismatch', { sha256: this.sha256, index })
      this.#outstanding.delete(index)
      this.#pump()
      return
    }
    if (this.#isFinished || this.#settle === undefined) return
    await this.#deps.store.writeStagingChunk(this.sha256, offsetBytes, payload)
    // Recorded only after the bytes are synced, so the log never names a chunk the staging file lacks.
    this.#persistChain = this.#persistChain.then(async () => {
      await this.#deps.store.recordVerifiedChunk(this.sha256, index)
      this.#verified.add(index)
      this.#verifiedBytes += lengthBytes
      this.#deps.onProgress(Math.min(1, this.#verifiedBytes / artifact.sizeBytes))
    })
    await this.#persistChain
    this.#outstanding.delete(index)
    this.#pump()
  }

  #pump(): void {
    if (this.#isFinished || this.#settle === undefined) return
    if (this.#verified.size === this.#directive.artifact.chunkCount && this.#outstanding.size === 0) {
      this.#settle.resolve()
      return
    }
    if (!this.#deps.link.isConnected()) return
    const next = planChunkRequests({
      chunkCount: this.#directive.artifact.chunkCount,
      verified: this.#verified,
      outstanding: new Set(this.#outstanding.keys()),
      windowSize: this.#deps.settings.windowSize,
    })
    for (const index of next) this.#requestChunk(index)
  }

  #requestChunk(index: number): void {
    const attempts = (this.#attempts.get(index) ?? 0) + 1
    if (attempts > this.#deps.settings.maxAttemptsPerPiece) {
      const corrupt = this.#corruptAnswers.get(index) ?? 0
      this.#fail(
        corrupt > 0
          ? new AppError('artifact-corrupt', `Chunk ${index} failed its hash check ${corrupt} times`, { index, sha256: this.sha256 })
          : new AppError('transfer-failed', `Chunk ${index} was not delivered after ${attempts - 1} requests`, { index, sha256: this.sha256 }),
      )
      return
    }
    this.#attempts.set(index, attempts)
    const entry: Outstanding = { timer: undefined, isReceived: false }
    entry.timer = setTimeout(() => {
      if (this.#outstanding.get(index) !== entry || entry.isReceived) return
      this.#outstanding.delete(index)
      this.#pump()
    }, this.#deps.settings.pieceTimeoutMs)
    this.#outstanding.set(index, entry)
    const request: PieceRequest = { v: PROTOCOL_VERSION, deviceId: this.#deps.deviceId, piece: 'chunk', sha256: this.sha256, index }
    this.#publishRequest(request)
  }

  #publishRequest(request: PieceRequest): void {
    // A lost request is handled by its timeout; the error itself only needs a log line.
    this.#deps.link.publish(topics.request(this.#deps.deviceId), encodeMessage(request), { qos: 1 }).catch((error: unknown) => {
      this.#deps.log.warn('piece request not sent', { piece: request.piece, reason: error instanceof Error ? error.message : String(error) })
    })
  }

  #requestChunkList(): void {
    if (!this.#deps.link.isConnected()) return
    this.#publishRequest({ v: PROTOCOL_VERSION, deviceId: this.#deps.deviceId, piece: 'chunklist', sha256: this.sha256 })
  }

  async #loadOrFetchChunkList(signal: AbortSignal): Promise<void> {
    const artifact = this.#directive.artifact
    const saved = await this.#deps.store.loadDownload(this.sha256)
    if (saved !== null && (await this.#adoptChunkList(saved.chunkListBytes, false))) {
      this.#verified = new Set(saved.verifiedChunks.filter((index) => index < artifact.chunkCount))
      return
    }
    let corruptAnswers = 0
    for (let attempt = 1; attempt <= this.#deps.settings.maxAttemptsPerPiece; attempt++) {
      const bytes = await this.#awaitChunkList(signal)
      if (bytes !== undefined && (await this.#adoptChunkList(bytes, true))) {
        await this.#deps.store.saveChunkList(this.sha256, bytes)
        await this.#deps.store.resetVerifiedChunks(this.sha256)
        this.#verified = new Set()
        return
      }
      if (bytes !== undefined) corruptAnswers += 1
    }
    throw corruptAnswers > 0
      ? new AppError('artifact-corrupt', 'The chunk list failed verification against the directive', { sha256: this.sha256 })
      : new AppError('transfer-failed', 'The chunk list was not delivered', { sha256: this.sha256 })
  }

  /** One request for the chunk list; resolves with its bytes, or undefined after the piece timeout. */
  #awaitChunkList(signal: AbortSignal): Promise<Uint8Array | undefined> {
    return new Promise<Uint8Array | undefined>((resolve, reject) => {
      if (signal.aborted) {
        reject(new InstallAbortedError('download cancelled'))
        return
      }
      const onAbort = () => {
        if (this.#chunkListWaiter !== undefined) clearTimeout(this.#chunkListWaiter.timer)
        this.#chunkListWaiter = undefined
        reject(new InstallAbortedError('download cancelled'))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      const timer = setTimeout(() => {
        this.#chunkListWaiter = undefined
        signal.removeEventListener('abort', onAbort)
        resolve(undefined)
      }, this.#deps.settings.pieceTimeoutMs)
      this.#chunkListWaiter = {
        timer,
        resolve: (bytes) => {
          signal.removeEventListener('abort', onAbort)
          resolve(bytes)
        },
      }
      this.#requestChunkList()
    })
  }

  /** Verifies chunk-list bytes against the directive; on success keeps the chunk hashes. */
  async #adoptChunkList(bytes: Uint8Array, isFromNetwork: boolean): Promise<boolean> {
    const artifact = this.#directive.artifact
    const reject = (reason: string) => {
      if (isFromNetwork) this.#deps.drop(reason, { sha256: this.sha256 })
      return false
    }
    if ((await sha256Hex(bytes)) !== artifact.chunkListSha256) return reject('chunklist-hash-mismatch')
    const parsed = parseMessage(ChunkList, bytes, MAX_CHUNK_LIST_BYTES)
    if (!parsed.ok) return reject('chunklist-invalid')
    const mismatch = chunkListMismatch(artifact, parsed.value)
    if (mismatch !== undefined) {
      this.#deps.log.warn('chunk list does not match the directive', { sha256: this.sha256, mismatch })
      return reject('chunklist-mismatch')
    }
    this.#chunkHashes = parsed.value.chunks
    return true
  }

  /** Chunks recorded as verified before a restart are re-hashed from the staging file (it may have been damaged since). */
  async #reverifyResumedChunks(): Promise<void> {
    if (this.#verified.size === 0) return
    const artifact = this.#directive.artifact
    const stillGood = new Set<number>()
    for (const index of this.#verified) {
      const { offsetBytes, lengthBytes } = chunkByteRange(index, artifact.chunkSizeBytes, artifact.sizeBytes)
      const bytes = await this.#deps.store.readStagingRange(this.sha256, offsetBytes, lengthBytes).catch(() => new Uint8Array(0))
      if (bytes.byteLength === lengthBytes && (await sha256Hex(bytes)) === this.#chunkHashes[index]) stillGood.add(index)
    }
    if (stillGood.size !== this.#verified.size) {
      this.#deps.log.warn('staged chunks failed re-verification; fetching them again', { sha256: this.sha256, lost: this.#verified.size - stillGood.size })
    }
    this.#verified = stillGood
    this.#deps.log.info('resuming download', { sha256: this.sha256, verifiedChunks: stillGood.size, chunkCount: artifact.chunkCount })
  }

  #fail(error: unknown): void {
    if (this.#isFinished) return
    this.#clearTimers()
    if (this.#chunkListWaiter !== undefined) clearTimeout(this.#chunkListWaiter.timer)
    this.#settle?.reject(error)
    this.#settle = undefined
  }

  #clearTimers(): void {
    for (const entry of this.#outstanding.values()) clearTimeout(entry.timer)
    this.#outstanding.clear()
  }
}
