/**
 * Payload schemas of signed metadata (anchors-security.md §10.3). Field names are snake_case because they are the
 * signed wire format read by every tool that handles a bundle, not TypeScript objects.
 *
 * Integers are safe integers (≤ 2^53−1): anything larger has already lost precision in JSON.parse. File names
 * are one path segment from [A-Za-z0-9._-], never hidden, never containing "..". Unknown fields are allowed: they
 * are covered by the signature over the exact bytes and dropped from the parsed value.
 */
import { z } from 'zod'
import { InstallState } from '../domain/device.ts'
import { DeviceId, Instant, Sha256Hex } from '../domain/ids.ts'
import { decodeUtf8 } from './bytes.ts'
import { reject, type TrustRejection, type TrustStage } from './trustErrors.ts'

const PATH_UNSAFE_MESSAGE = 'path-unsafe: a file name is 1-64 of [A-Za-z0-9._-], with no leading dot and no ".."'

export function isSafeFileName(name: string): boolean {
  return /^[A-Za-z0-9._-]{1,64}$/.test(name) && !name.startsWith('.') && !name.includes('..')
}

export const FileName = z.string().max(256).refine(isSafeFileName, { message: PATH_UNSAFE_MESSAGE })

const Count = z.int().nonnegative()
const PositiveCount = z.int().positive()
export const KeyId = z.string().regex(/^[0-9a-f]{64}$/, 'a keyid is 64 lowercase hex characters')
/** Release model ids: one topic-safe path segment. The control center's m-… ids fit. */
export const TrustModelId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a model id is 1-64 letters, digits, dots, dashes or underscores')
/** Dotted numeric versions, compared number by number. */
export const NumericVersion = z.string().regex(/^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$/, 'a version here is dotted numbers such as 1.30.0')
const ReleaseVersion = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/, 'a release version is 1-64 of [0-9A-Za-z.+_-]')
const ExecutionProviderName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/)
const Text = (maxLength: number) => z.string().max(maxLength)

// ---------------------------------------------------------------------------------------------------------- root

export const RoleSpec = z.object({
  keyids: z.array(KeyId).min(1).max(16),
  threshold: z.int().min(1).max(16),
})
export type RoleSpec = z.infer<typeof RoleSpec>

export const roleNames = ['root', 'release', 'director'] as const
export type RoleName = (typeof roleNames)[number]

export const PublicKeyEntry = z.object({
  scheme: z.literal('ed25519'),
  public: z.string().regex(/^[0-9a-f]{64}$/, 'a public key is 64 lowercase hex characters'),
})
export type PublicKeyEntry = z.infer<typeof PublicKeyEntry>

export const RootMetadata = z.object({
  spec: z.literal('outpost-root/1'),
  version: PositiveCount,
  expires: Instant,
  keys: z.record(KeyId, PublicKeyEntry),
  roles: z.object({ root: RoleSpec, release: RoleSpec, director: RoleSpec }),
  /** Optional pin of the CA that signs broker certificates. */
  device_ca: Text(16 * 1024).optional(),
})
export type RootMetadata = z.infer<typeof RootMetadata>

// ------------------------------------------------------------------------------------------------------- release

export const ManifestFile = z
  .object({
    name: FileName,
    length: Count,
    sha256: Sha256Hex,
    /** Chunked files (the model) list a chunk size and the SHA-256 of their chunk list (protocol ChunkList JSON). */
    chunk_size: z.int().min(1024).max(256 * 1024).optional(),
    chunk_list_sha256: Sha256Hex.optional(),
  })
  .refine((file) => (file.chunk_size === undefined) === (file.chunk_list_sha256 === undefined), {
    message: 'chunk_size and chunk_list_sha256 come together',
  })
export type ManifestFile = z.infer<typeof ManifestFile>

export const Variant = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/),
  file: FileName,
  execution_provider: ExecutionProviderName,
})
export type Variant = z.infer<typeof Variant>

export const Compat = z.object({
  runtime: z.string().regex(/^[a-z0-9@/._-]{1,64}$/),
  runtime_min_version: NumericVersion,
  /** Highest ONNX opset the model uses; the device must support at least this. */
  opset_max: z.int().min(1).max(1000),
  /** Execution providers the release was validated on; the device needs one of them. */
  execution_providers: z.array(ExecutionProviderName).min(1).max(16),
  variants: z.array(Variant).max(16),
  /** CPU architectures (Node's process.arch names); absent means any. */
  hardware: z.array(z.string().regex(/^[a-z0-9_-]{1,32}$/)).min(1).max(16).optional(),
  agent_min_version: NumericVersion.optional(),
})
export type Compat = z.infer<typeof Compat>

export const Health = z.object({
  golden_inputs: FileName,
  golden_outputs: FileName,
  tolerance: z.number().nonnegative().max(1e6),
  timeout_s: z.int().min(1).max(3600),
})
export type Health = z.infer<typeof Health>

export const DriftFeature = z
  .object({
    name: z.string().min(1).max(64),
    /** Strictly increasing inner bin edges; n edges make n+1 bins (below the first, between, above the last). */
    bin_edges: z.array(z.number()).min(1).max(256),
    reference_counts: z.array(Count).max(257),
  })
  .refine((feature) => feature.bin_edges.every((edge, index) => index === 0 || edge > (feature.bin_edges[index - 1] ?? edge)), {
    message: 'bin_edges must increase strictly',
  })
  .refine((feature) => feature.reference_counts.length === feature.bin_edges.length + 1, {
    message: 'reference_counts has one count per bin (bin_edges.length + 1)',
  })
export type DriftFeature = z.infer<typeof DriftFeature>

export const Drift = z.object({ features: z.array(DriftFeature).min(1).max(1024) })
export type Drift = z.infer<typeof Drift>

export const ReleaseManifest = z
  .object({
    spec: z.literal('outpost-release/1'),
    model_id: TrustModelId,
    release_counter: PositiveCount,
    version: ReleaseVersion,
    issued: Instant,
    expires: Instant,
    files: z.array(ManifestFile).min(1).max(64),
    compat: Compat,
    health: Health,
    drift: Drift.optional(),
    /** The model card, Markdown. */
    card: Text(32 * 1024).nullable(),
  })
  .superRefine((manifest, context) => {
    const names = new Set<string>()
    for (const file of manifest.files) {
      if (names.has(file.name)) context.addIssue({ code: 'custom', message: `file "${file.name}" is listed twice`, path: ['files'] })
      names.add(file.name)
    }
    const referenced = [
      ['health.golden_inputs', manifest.health.golden_inputs],
      ['health.golden_outputs', manifest.health.golden_outputs],
      ...manifest.compat.variants.map((variant) => [`compat.variants.${variant.name}`, variant.file] as const),
    ] as const
    for (const [where, name] of referenced) {
      if (!names.has(name)) context.addIssue({ code: 'custom', message: `${where} names "${name}", which is not in files`, path: ['files'] })
    }
    if (Date.parse(manifest.expires) <= Date.parse(manifest.issued)) {
      context.addIssue({ code: 'custom', message: 'expires must be after issued', path: ['expires'] })
    }
  })
export type ReleaseManifest = z.infer<typeof ReleaseManifest>

// --------------------------------------------------------------------------------------------------------- floor

const expiresAfterIssued = (value: { issued: string; expires: string }) => Date.parse(value.expires) > Date.parse(value.issued)

export const FloorRecord = z
  .object({
    spec: z.literal('outpost-floor/1'),
    model_id: TrustModelId,
    min_release_counter: Count,
    version: PositiveCount,
    issued: Instant,
    expires: Instant,
    reason: Text(500),
  })
  .refine(expiresAfterIssued, { message: 'expires must be after issued', path: ['expires'] })
export type FloorRecord = z.infer<typeof FloorRecord>

// ----------------------------------------------------------------------------------------------------- directive

export const directiveActions = ['install', 'rollback', 'noop'] as const
export type DirectiveAction = (typeof directiveActions)[number]

export const ReleaseRef = z.object({
  model_id: TrustModelId,
  release_counter: PositiveCount,
  /** SHA-256 of the release manifest's payload bytes (not of its envelope, so adding signatures keeps the id). */
  manifest_sha256: Sha256Hex,
})
export type ReleaseRef = z.infer<typeof ReleaseRef>

export const DirectiveMetadata = z
  .object({
    spec: z.literal('outpost-directive/1'),
    device_id: DeviceId,
    seq: PositiveCount,
    issued: Instant,
    not_before: Instant,
    expires: Instant,
    root_version: PositiveCount,
    action: z.enum(directiveActions),
    release: ReleaseRef.nullable(),
    /** Compare-and-swap on the device's active release (null manifest: nothing installed); null: no check. */
    expect_current: z.object({ manifest_sha256: Sha256Hex.nullable() }).nullable(),
    rollout: z.object({ id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), stage: Count }).nullable(),
    reason: Text(500),
    /** Allows reinstalling a release this device marked bad. */
    retry: z.boolean(),
  })
  .superRefine((directive, context) => {
    if ((directive.action === 'noop') !== (directive.release === null)) {
      context.addIssue({ code: 'custom', message: 'install and rollback name a release; noop does not', path: ['release'] })
    }
    if (directive.action !== 'noop' && directive.expect_current === null) {
      context.addIssue({ code: 'custom', message: 'install and rollback carry expect_current', path: ['expect_current'] })
    }
    if (Date.parse(directive.expires) <= Math.max(Date.parse(directive.not_before), Date.parse(directive.issued))) {
      context.addIssue({ code: 'custom', message: 'expires must be after not_before and issued', path: ['expires'] })
    }
  })
export type DirectiveMetadata = z.infer<typeof DirectiveMetadata>

// ----------------------------------------------------------------------------------------------------- heartbeat

export const HeartbeatMetadata = z
  .object({
    spec: z.literal('outpost-heartbeat/1'),
    device_id: DeviceId,
    issued: Instant,
    expires: Instant,
    root_version: PositiveCount,
  })
  .refine(expiresAfterIssued, { message: 'expires must be after issued', path: ['expires'] })
export type HeartbeatMetadata = z.infer<typeof HeartbeatMetadata>

// -------------------------------------------------------------------------------------------------------- report

export const DeviceReport = z.object({
  spec: z.literal('outpost-report/1'),
  device_id: DeviceId,
  report_seq: PositiveCount,
  last_directive_seq: Count,
  active: ReleaseRef.nullable(),
  state: InstallState,
  trusted_time: Instant,
  /** Rejections and suspicions since the last report (TrustErrorCode values, 'frozen', ...). */
  attack_indicators: z.array(z.object({ code: z.string().regex(/^[a-z0-9-]{1,64}$/), reason: Text(500), at: Instant })).max(16),
  health: z.object({ passed: z.boolean(), detail: Text(500) }).nullable(),
})
export type DeviceReport = z.infer<typeof DeviceReport>

// ------------------------------------------------------------------------------------------------------- parsing

export type ParsePayloadResult<T> = { verdict: 'accept'; value: T } | TrustRejection

/** Call only on payload bytes whose signatures already met their threshold. */
export function parsePayload<S extends z.ZodType>(schema: S, payloadBytes: Uint8Array, stage: TrustStage, what: string): ParsePayloadResult<z.infer<S>> {
  const text = decodeUtf8(payloadBytes)
  if (text === undefined) return reject(stage, 'malformed', `The ${what} payload is not UTF-8`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return reject(stage, 'malformed', `The ${what} payload is not JSON`)
  }
  const parsed = schema.safeParse(json)
  if (parsed.success) return { verdict: 'accept', value: parsed.data }
  const unsafePath = parsed.error.issues.find((issue) => issue.message === PATH_UNSAFE_MESSAGE)
  if (unsafePath !== undefined) {
    return reject(stage, 'path-unsafe', `The ${what} names an unsafe file at ${formatPath(unsafePath.path)}: ${PATH_UNSAFE_MESSAGE.slice('path-unsafe: '.length)}`)
  }
  const first = parsed.error.issues[0]
  return reject(stage, 'malformed', `The ${what} does not match its schema at ${formatPath(first?.path ?? [])}: ${first?.message ?? 'invalid'}`)
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map((segment) => String(segment)).join('.')
}

/** Milliseconds since the epoch of a schema-validated instant. */
export function instantMs(instant: string): number {
  return Date.parse(instant)
}
