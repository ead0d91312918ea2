/**
 * MQTT message schemas, version 1, shared by agent and control center. Every JSON message carries `v` and the
 * sender's device id, is capped in size before it is parsed, and is validated before anything acts on it.
 * Chunks are raw bytes (no JSON, no base64) checked against the chunk list's hashes.
 */
import { z } from 'zod'
import { ActiveModel, ExecutionProviderProbe, Hardware, InstallState } from '../domain/device.ts'
import { DeviceId, Instant, ModelId, Sha256Hex } from '../domain/ids.ts'
import { ModelFormat } from '../domain/model.ts'
import { LATENCY_BUCKET_UPPER_MS } from './latencyHistogram.ts'

export const PROTOCOL_VERSION = 1
/** Control messages (status, sync, directives, reports) stay small (anchors-security.md §10.10: 16 KiB). */
export const MAX_CONTROL_MESSAGE_BYTES = 16 * 1024
/** Telemetry windows carry histograms. */
export const MAX_TELEMETRY_MESSAGE_BYTES = 64 * 1024
/** A chunk list holds one hash per chunk: 1 MiB covers models up to ~2 GB at 128 KiB chunks. */
export const MAX_CHUNK_LIST_BYTES = 1024 * 1024
export const CHUNK_SIZE_BYTES = 128 * 1024

const v = z.literal(PROTOCOL_VERSION)

export const StatusMessage = z.object({ v, deviceId: DeviceId, isOnline: z.boolean(), at: Instant })
export type StatusMessage = z.infer<typeof StatusMessage>

export const SyncRequest = z.object({
  v,
  deviceId: DeviceId,
  agentVersion: z.string().max(32),
  hardware: Hardware,
  executionProviders: z.array(ExecutionProviderProbe).max(16),
  /** Highest directive sequence the agent has accepted (0 when none). */
  lastDirectiveSeq: z.number().int().nonnegative(),
  active: ActiveModel.nullable(),
  executionProvider: z.string().max(32).nullable(),
  installState: InstallState,
  at: Instant,
})
export type SyncRequest = z.infer<typeof SyncRequest>

export const Heartbeat = z.object({
  v,
  deviceId: DeviceId,
  at: Instant,
  uptimeS: z.number().nonnegative(),
  rssBytes: z.number().int().nonnegative(),
  active: ActiveModel.nullable(),
  executionProvider: z.string().max(32).nullable(),
  installState: InstallState,
})
export type Heartbeat = z.infer<typeof Heartbeat>

export const TelemetryWindow = z.object({
  v,
  deviceId: DeviceId,
  /** Increases by one per window; the control center drops repeats (de-duplication key with deviceId). */
  reportSeq: z.number().int().nonnegative(),
  windowStartAt: Instant,
  windowEndAt: Instant,
  modelSha256: Sha256Hex.nullable(),
  executionProvider: z.string().max(32).nullable(),
  requestCount: z.number().int().nonnegative(),
  errorCount: z.number().int().nonnegative(),
  /** Counts per LATENCY_BUCKET_UPPER_MS bucket plus one overflow bucket. */
  latencyCounts: z.array(z.number().int().nonnegative()).length(LATENCY_BUCKET_UPPER_MS.length + 1),
  rssBytes: z.number().int().nonnegative(),
  /**
   * Drift counts, optional (agents without a signed drift reference omit all three; older control centers ignore
   * them). Per reference feature name: the window's samples counted with countIntoBins
   * (src-shared/domain/driftBinning.ts) into exactly that feature's signed bins, length bin_edges.length + 1.
   */
  featureCounts: z.record(z.string().min(1).max(64), z.array(z.number().int().nonnegative()).max(257)).optional(),
  /** The window's predictions counted into the reference's `predictions` bins. */
  predictionCounts: z.array(z.number().int().nonnegative()).max(257).optional(),
  /** driftReferenceSha256 of the reference the counts use; counts without it, or with another one, are not compared. */
  binsSha256: Sha256Hex.optional(),
})
export type TelemetryWindow = z.infer<typeof TelemetryWindow>

export const InstallReport = z.object({
  v,
  deviceId: DeviceId,
  directiveSeq: z.number().int().nonnegative(),
  modelSha256: Sha256Hex.nullable(),
  state: InstallState,
  /**
   * 0..1. While downloading: bytes verified over bytes expected. In 'trial': the share of the soak period passed;
   * 1 means the local health checks passed and the agent awaits the control center's `trial-ack` to commit.
   */
  progress: z.number().min(0).max(1),
  errorCode: z.string().max(64).nullable(),
  message: z.string().max(500).nullable(),
  executionProvider: z.string().max(32).nullable(),
  /** Why the session runs on `executionProvider` rather than a preferred one (each failed provider and its reason). */
  executionProviderFallback: z.string().max(500).nullable().optional(),
  at: Instant,
})
export type InstallReport = z.infer<typeof InstallReport>

/**
 * A small tensor as JSON: onnxruntime element type, dimensions and row-major values. int64/uint64 values may be
 * decimal strings (beyond 2^53), bool values booleans or 0/1.
 */
export const JsonTensor = z.object({
  type: z.string().max(16),
  dims: z.array(z.number().int().nonnegative()).max(8),
  data: z.array(z.union([z.number(), z.string().max(24), z.boolean()])).max(4096),
})
export type JsonTensor = z.infer<typeof JsonTensor>

/**
 * One golden case of the health gate: these inputs must give these outputs, element by element within
 * `absTolerance + relTolerance * |expected|`. Shipped inside signed releases once they exist.
 */
export const GoldenCase = z.object({
  inputs: z.record(z.string().max(128), JsonTensor),
  outputs: z.record(z.string().max(128), JsonTensor),
  absTolerance: z.number().nonnegative().max(1e6),
  relTolerance: z.number().nonnegative().max(1e6).optional(),
})
export type GoldenCase = z.infer<typeof GoldenCase>

/** Where and how to fetch one artifact. */
export const ArtifactRef = z.object({
  modelId: ModelId,
  name: z.string().max(128),
  version: z.string().max(64),
  format: ModelFormat,
  sha256: Sha256Hex,
  sizeBytes: z.number().int().positive().max(2 ** 31),
  chunkSizeBytes: z.number().int().positive().max(256 * 1024),
  chunkCount: z.number().int().positive(),
  /** SHA-256 of the chunk list (its canonical JSON bytes), so the list itself is verified before use. */
  chunkListSha256: Sha256Hex,
  /** Golden inputs and outputs the health gate checks before the agent commits this artifact. */
  golden: z.array(GoldenCase).max(8).optional(),
})
export type ArtifactRef = z.infer<typeof ArtifactRef>

export const Directive = z.discriminatedUnion('action', [
  z.object({
    v,
    deviceId: DeviceId,
    seq: z.number().int().positive(),
    issuedAt: Instant,
    action: z.literal('install'),
    artifact: ArtifactRef,
    /** Install even if this device marked the artifact bad after a failed trial (by default it refuses). */
    retry: z.boolean().optional(),
    /** The release's execution-provider preference, best first; the device's own configuration overrides it. */
    executionProviders: z.array(z.string().max(32)).max(8).optional(),
  }),
  z.object({ v, deviceId: DeviceId, seq: z.number().int().nonnegative(), issuedAt: Instant, action: z.literal('noop') }),
])
export type Directive = z.infer<typeof Directive>

export const PieceRequest = z.discriminatedUnion('piece', [
  z.object({ v, deviceId: DeviceId, piece: z.literal('chunklist'), sha256: Sha256Hex }),
  z.object({ v, deviceId: DeviceId, piece: z.literal('chunk'), sha256: Sha256Hex, index: z.number().int().nonnegative() }),
])
export type PieceRequest = z.infer<typeof PieceRequest>

export const ChunkList = z.object({
  v,
  sha256: Sha256Hex,
  chunkSizeBytes: z.number().int().positive(),
  chunks: z.array(Sha256Hex),
})
export type ChunkList = z.infer<typeof ChunkList>

/**
 * Commands on `down/cmd`. 'sync': publish a sync now. 'trial-ack': the control center received the device's
 * trial report with progress 1 for this directive and artifact; the agent may commit (anchors-security.md §10.8).
 */
export const Command = z.discriminatedUnion('type', [
  z.object({ v, type: z.literal('sync') }),
  z.object({ v, type: z.literal('trial-ack'), directiveSeq: z.number().int().positive(), modelSha256: Sha256Hex }),
])
export type Command = z.infer<typeof Command>

export type ParseFailure = 'too-large' | 'not-json' | 'schema'
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: ParseFailure; detail: string }

const decoder = new TextDecoder('utf-8', { fatal: true })

/** Size cap first, then JSON, then schema: nothing is parsed that is larger than its cap. */
export function parseMessage<S extends z.ZodType>(schema: S, payload: Uint8Array, maxBytes: number): ParseResult<z.infer<S>> {
  if (payload.byteLength > maxBytes) {
    return { ok: false, reason: 'too-large', detail: `${payload.byteLength} bytes > cap ${maxBytes}` }
  }
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(payload))
  } catch {
    return { ok: false, reason: 'not-json', detail: 'payload is not UTF-8 JSON' }
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) return { ok: false, reason: 'schema', detail: z.prettifyError(parsed.error).slice(0, 300) }
  return { ok: true, value: parsed.data }
}

const encoder = new TextEncoder()
export function encodeMessage(message: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}
