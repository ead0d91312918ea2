/**
 * `outpost release create`: a release bundle folder (layout in bundleLayout.ts) whose release.json carries the
 * manifest with no signatures yet; release signers add theirs with `outpost release sign`. The folder is built
 * under a temporary name next to the target and renamed at the end, so a failure leaves nothing behind.
 */
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { AppError } from '../../../src-shared/errors.ts'
import { encodeHex } from '../../../src-shared/trust/bytes.ts'
import { encodePayload } from '../../../src-shared/trust/buildMetadata.ts'
import { createEnvelope, encodeEnvelope, MAX_ENVELOPE_BYTES } from '../../../src-shared/trust/envelope.ts'
import { ReleaseManifest, TrustModelId, type ManifestFile } from '../../../src-shared/trust/metadata.ts'
import { CHUNK_SIZE_BYTES, MAX_CHUNK_LIST_BYTES, encodeMessage } from '../../../src-shared/protocol/messages.ts'
import { buildChunkList } from '../../core/artifacts/chunkList.ts'
import { cardOutputSha256, readModelCard } from '../../core/releases/modelCard.ts'
import { counterFromVersion } from '../../core/releases/releaseCounter.ts'
import { nodeSha256 } from '../keystore/keyFile.ts'
import { detectModelFormat, inspectModelFile, readModelBytes } from '../modelformats/inspectFile.ts'
import { CHUNKS_DIR, chunkListFileName, FILES_DIR, RELEASE_FILE } from './bundleLayout.ts'
import { checkGoldenFiles, recordGoldenFiles } from './goldenFiles.ts'

export const MODEL_FILE_NAME = 'model.onnx'
export const RUNTIME = 'onnxruntime-node'
/** The runtime these bundles are made and their golden outputs recorded with. */
export const RUNTIME_MIN_VERSION = '1.30.0'
export const DEFAULT_RELEASE_EXPIRY_DAYS = 180
export const MAX_RELEASE_EXPIRY_DAYS = 365
export const DEFAULT_TOLERANCE = 1e-3
export const DEFAULT_HEALTH_TIMEOUT_S = 120
const MAX_CARD_BYTES = 32 * 1024
const MAX_OVERRIDE_REASON_LENGTH = 500
const DAY_MS = 24 * 3_600_000

export interface CreateReleaseOptions {
  modelPath: string
  /** The release's model id: the same for every release of this model. */
  name: string
  version: string
  outDir: string
  nowMs: number
  cardPath?: string | undefined
  counter?: number | undefined
  goldenInputsPath?: string | undefined
  goldenOutputsPath?: string | undefined
  tolerance?: number | undefined
  expiresInDays?: number | undefined
  executionProviders?: readonly string[] | undefined
  /** Ships a candidate whose card says it failed its evaluation gate; recorded in the manifest. */
  overrideReason?: string | undefined
}

export interface CreatedRelease {
  bundleDir: string
  manifestSha256: string
  manifest: ReleaseManifest
  /** Set when the counter came from the version rather than --counter. */
  isCounterDerived: boolean
  areGoldenFilesRecorded: boolean
}

async function readSmallFile(path: string, label: string, maxBytes: number): Promise<Uint8Array> {
  try {
    const stats = await lstat(path)
    if (!stats.isFile()) throw new AppError('invalid-input', `The ${label} ${path} is not a regular file`, { path })
    if (stats.size > maxBytes) throw new AppError('invalid-input', `The ${label} ${path} is ${stats.size} bytes; at most ${maxBytes} are allowed`, { path })
    return new Uint8Array(await readFile(path))
  } catch (error) {
    if (error instanceof AppError) throw error
    throw new AppError('not-found', `Cannot read the ${label} ${path} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`, { path })
  }
}

function digest(bytes: Uint8Array): string {
  return encodeHex(nodeSha256(bytes))
}

function plainFile(name: string, bytes: Uint8Array): ManifestFile {
  return { name, length: bytes.length, sha256: digest(bytes) }
}

function chunkedFile(name: string, bytes: Uint8Array): { file: ManifestFile; chunkListBytes: Uint8Array } {
  const sha256 = digest(bytes)
  const chunks: string[] = []
  for (let offset = 0; offset < bytes.length; offset += CHUNK_SIZE_BYTES) chunks.push(digest(bytes.subarray(offset, offset + CHUNK_SIZE_BYTES)))
  const chunkListBytes = encodeMessage(buildChunkList(sha256, CHUNK_SIZE_BYTES, chunks))
  if (chunkListBytes.length > MAX_CHUNK_LIST_BYTES) throw new AppError('invalid-input', `${name} is too large to deliver: its chunk list exceeds ${MAX_CHUNK_LIST_BYTES} bytes`)
  return { file: { name, length: bytes.length, sha256, chunk_size: CHUNK_SIZE_BYTES, chunk_list_sha256: digest(chunkListBytes) }, chunkListBytes }
}

function goldenName(kind: 'inputs' | 'outputs', path: string | undefined): string {
  const extension = path === undefined ? '.npz' : extname(path).toLowerCase()
  return `golden_${kind}${extension === '.npy' ? '.npy' : '.npz'}`
}

async function assertTargetFree(outDir: string): Promise<void> {
  try {
    await lstat(outDir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  throw new AppError('conflict', `${outDir} already exists; choose a new folder for the bundle`, { path: outDir })
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', 0o644)
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function resolveCounter(options: CreateReleaseOptions): { counter: number; isDerived: boolean } {
  if (options.counter !== undefined) return { counter: options.counter, isDerived: false }
  const derived = counterFromVersion(options.version)
  if (!derived.ok) throw new AppError('invalid-input', `Cannot derive a release counter: ${derived.reason}; pass --counter N (higher than every earlier release of ${options.name})`)
  return { counter: derived.counter, isDerived: true }
}

function firstIssue(error: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> }): string {
  const issue = error.issues[0]
  return issue === undefined ? 'invalid' : `${issue.path.map(String).join('.') || 'manifest'}: ${issue.message}`
}

export async function createReleaseBundle(options: CreateReleaseOptions): Promise<CreatedRelease> {
  if (!TrustModelId.safeParse(options.name).success) {
    throw new AppError('invalid-input', `--name '${options.name}' is not a release model id: 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit`)
  }
  const expiresInDays = options.expiresInDays ?? DEFAULT_RELEASE_EXPIRY_DAYS
  if (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > MAX_RELEASE_EXPIRY_DAYS) {
    throw new AppError('invalid-input', `Release expiry must be 1 to ${MAX_RELEASE_EXPIRY_DAYS} days, got ${expiresInDays}`)
  }
  if ((options.goldenInputsPath === undefined) !== (options.goldenOutputsPath === undefined)) {
    throw new AppError('invalid-input', 'Pass --golden-inputs and --golden-outputs together, or neither to have them recorded from the model')
  }
  const overrideReason = options.overrideReason?.trim()
  if (overrideReason !== undefined && (overrideReason.length === 0 || overrideReason.length > MAX_OVERRIDE_REASON_LENGTH)) {
    throw new AppError('invalid-input', `--override-reason needs 1 to ${MAX_OVERRIDE_REASON_LENGTH} characters`)
  }
  const { counter, isDerived } = resolveCounter(options)
  const outDir = resolve(options.outDir)
  await assertTargetFree(outDir)

  // The card is read first: a candidate that failed its gate is refused before any expensive work.
  let card: string | null = null
  if (options.cardPath !== undefined) {
    const cardBytes = await readSmallFile(options.cardPath, 'model card', MAX_CARD_BYTES)
    card = new TextDecoder('utf-8', { fatal: false }).decode(cardBytes)
    const lineage = readModelCard(card).lineage
    if (lineage?.isReleaseReady === false && overrideReason === undefined) {
      const why = lineage.readinessReasons[0] ?? 'it failed its evaluation gate'
      throw new AppError('not-release-ready', `The model card says this candidate is not release-ready (${why}); pass --override-reason TEXT to release it anyway`, {
        reasons: lineage.readinessReasons,
      })
    }
  }

  const modelBytes = await readModelBytes(options.modelPath)
  const describedSha256 = card === null ? null : cardOutputSha256(card)
  if (describedSha256 !== null && describedSha256 !== digest(modelBytes)) {
    throw new AppError('invalid-input', `The model card describes a model with SHA-256 ${describedSha256.slice(0, 12)}…, not ${basename(options.modelPath)} (${digest(modelBytes).slice(0, 12)}…); pass the card made with this model`)
  }
  if (detectModelFormat(modelBytes, options.modelPath) !== 'onnx') {
    throw new AppError('model-unsupported', `${basename(options.modelPath)} is a TFLite model; releases run in ${RUNTIME}, so convert it to ONNX first`)
  }
  const inspection = await inspectModelFile(options.modelPath)
  if (inspection.externalDataFiles.length > 0) {
    throw new AppError('model-unsupported', `${basename(options.modelPath)} keeps its weights in external data files; release bundles carry a single .onnx file, so save the model with its weights inside`)
  }
  const opsetMax = inspection.opsets[''] ?? inspection.opsets['ai.onnx']
  if (opsetMax === undefined) throw new AppError('model-invalid', `${basename(options.modelPath)} imports no default ONNX opset`)

  let golden: { inputs: Uint8Array; outputs: Uint8Array }
  const isRecorded = options.goldenInputsPath === undefined || options.goldenOutputsPath === undefined
  if (options.goldenInputsPath === undefined || options.goldenOutputsPath === undefined) {
    golden = await recordGoldenFiles(modelBytes)
  } else {
    golden = {
      inputs: await readSmallFile(options.goldenInputsPath, 'golden inputs', 64 * 1024 * 1024),
      outputs: await readSmallFile(options.goldenOutputsPath, 'golden outputs', 64 * 1024 * 1024),
    }
    await checkGoldenFiles(modelBytes, {
      ...golden,
      inputsName: basename(options.goldenInputsPath),
      outputsName: basename(options.goldenOutputsPath),
    })
  }
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE

  const model = chunkedFile(MODEL_FILE_NAME, modelBytes)
  const goldenInputsName = goldenName('inputs', options.goldenInputsPath)
  const goldenOutputsName = goldenName('outputs', options.goldenOutputsPath)
  const executionProviders = [...new Set(options.executionProviders ?? ['cpu'])]
  const payload = {
    spec: 'outpost-release/1',
    model_id: options.name,
    release_counter: counter,
    version: options.version,
    issued: new Date(options.nowMs).toISOString(),
    expires: new Date(options.nowMs + expiresInDays * DAY_MS).toISOString(),
    files: [model.file, plainFile(goldenInputsName, golden.inputs), plainFile(goldenOutputsName, golden.outputs)],
    compat: {
      runtime: RUNTIME,
      runtime_min_version: RUNTIME_MIN_VERSION,
      opset_max: opsetMax,
      // Informational: the schema ignores it, the signature still covers it.
      onnx_ir_version: inspection.irVersion,
      execution_providers: executionProviders,
      variants: executionProviders.map((provider) => ({ name: provider, file: MODEL_FILE_NAME, execution_provider: provider })),
    },
    health: { golden_inputs: goldenInputsName, golden_outputs: goldenOutputsName, tolerance, timeout_s: DEFAULT_HEALTH_TIMEOUT_S },
    card,
    ...(overrideReason === undefined ? {} : { release_override: { reason: overrideReason } }),
  }
  const parsed = ReleaseManifest.safeParse(payload)
  if (!parsed.success) throw new AppError('invalid-input', `The release manifest would be invalid (${firstIssue(parsed.error)})`)
  const payloadBytes = encodePayload(payload)
  const envelopeBytes = encodeEnvelope(createEnvelope(nodeSha256, 'release', payloadBytes, []))
  if (envelopeBytes.length > MAX_ENVELOPE_BYTES.release) {
    throw new AppError('invalid-input', `The release manifest is ${envelopeBytes.length} bytes; the cap is ${MAX_ENVELOPE_BYTES.release} (shorten the model card)`)
  }

  const parent = dirname(outDir)
  await mkdir(parent, { recursive: true })
  const staging = join(parent, `.${basename(outDir)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await mkdir(join(staging, FILES_DIR), { recursive: true })
    await mkdir(join(staging, CHUNKS_DIR))
    await writeSynced(join(staging, FILES_DIR, MODEL_FILE_NAME), modelBytes)
    await writeSynced(join(staging, FILES_DIR, goldenInputsName), golden.inputs)
    await writeSynced(join(staging, FILES_DIR, goldenOutputsName), golden.outputs)
    await writeSynced(join(staging, CHUNKS_DIR, chunkListFileName(model.file.chunk_list_sha256 ?? '')), model.chunkListBytes)
    await writeSynced(join(staging, RELEASE_FILE), envelopeBytes)
    for (const folder of [join(staging, FILES_DIR), join(staging, CHUNKS_DIR), staging]) await syncFolder(folder)
    await assertTargetFree(outDir)
    await rename(staging, outDir)
    await syncFolder(parent)
  } catch (error) {
    await rm(staging, { recursive: true, force: true })
    throw error
  }
  return {
    bundleDir: outDir,
    manifestSha256: digest(payloadBytes),
    manifest: parsed.data,
    isCounterDerived: isDerived,
    areGoldenFilesRecorded: isRecorded,
  }
}

/** For `release sign` and `verify`: a bundle folder (or its release.json), or another envelope file (a floor record). */
export async function envelopePathOf(target: string): Promise<{ path: string; isBundle: boolean }> {
  try {
    const stats = await lstat(target)
    if (stats.isDirectory()) {
      const names = await readdir(target)
      if (!names.includes(RELEASE_FILE)) throw new AppError('not-found', `${target} has no ${RELEASE_FILE}; it is not a release bundle`, { path: target })
      return { path: join(target, RELEASE_FILE), isBundle: true }
    }
    // A bundle's own release.json stands for its folder, so its files are still checked.
    if (stats.isFile()) return { path: target, isBundle: basename(target) === RELEASE_FILE }
    throw new AppError('invalid-input', `${target} is neither a bundle folder nor an envelope file`, { path: target })
  } catch (error) {
    if (error instanceof AppError) throw error
    throw new AppError('not-found', `Cannot read ${target} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`, { path: target })
  }
}
