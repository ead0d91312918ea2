/**
 * The offline trust commands (anchors-security.md §10.1): `keys init|list` and `release create|sign|verify|floor`.
 * None of them needs a running control center; key passphrases come from --passphrase-file or
 * OUTPOST_KEY_PASSPHRASE, never from a prompt, so they run unchanged in CI pipelines.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { AppError, trustRejectionError } from '../../src-shared/errors.ts'
import { decodeHex, encodeUtf8 } from '../../src-shared/trust/bytes.ts'
import { encodePayload } from '../../src-shared/trust/buildMetadata.ts'
import { keyIdOf } from '../../src-shared/trust/ed25519.ts'
import { createEnvelope, decodeEnvelope, encodeEnvelope } from '../../src-shared/trust/envelope.ts'
import { FloorRecord, roleNames, TrustModelId, type RoleName, type RootMetadata } from '../../src-shared/trust/metadata.ts'
import { applyFloorRecords } from '../../src-shared/trust/verifyFloor.ts'
import { createDeviceTrustState } from '../../src-shared/trust/verifyRoot.ts'
import { createReleaseBundle, envelopePathOf } from '../adapters/bundle/createBundle.ts'
import { readTrustedRoot } from '../adapters/bundle/readTrustedRoot.ts'
import { signRelease } from '../adapters/bundle/signBundle.ts'
import { verifyBundle } from '../adapters/bundle/verifyBundle.ts'
import { writeFileDurably } from '../adapters/keystore/durableWrite.ts'
import { initTrustRoot } from '../adapters/keystore/initTrustRoot.ts'
import { nodeSha256, readKeyFile } from '../adapters/keystore/keyFile.ts'
import { resolvePassphrase } from '../adapters/keystore/passphrase.ts'
import type { CliContext } from './cliContext.ts'
import { parseCommandLine, parseCount, UsageError } from './flags.ts'
import { formatInstant, formatTable } from './formatTable.ts'
import { usage } from './usage.ts'

const DAY_MS = 24 * 3_600_000
const MAX_COUNTER = Number.MAX_SAFE_INTEGER

function help(context: CliContext, text: string): number {
  context.stdout(text)
  return 0
}

function required(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command} needs --${flag}; run \`outpost ${command} --help\``)
  return value
}

function resolvePath(context: CliContext, file: string): string {
  return path.resolve(context.cwd, file)
}

function passphraseOf(context: CliContext, passphraseFile: string | undefined): Promise<string> {
  return resolvePassphrase({ passphraseFile: passphraseFile === undefined ? undefined : resolvePath(context, passphraseFile), env: context.env })
}

function parseWhole(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d{1,16}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, not '${value}'`)
  }
  return Number(value)
}

/** A rejected verification: one line on standard error (and a JSON object with --json), exit 1. */
function refuse(context: CliContext, isJson: boolean, rejection: { code: string; reason: string; stage: string }): number {
  if (isJson) context.stdout(JSON.stringify({ valid: false, code: rejection.code, reason: rejection.reason, stage: rejection.stage }))
  context.stderr(`outpost: error [${rejection.code}] ${rejection.reason.replace(/\s*[\r\n]+\s*/g, ' ')}`)
  return 1
}

const shortKeyid = (keyid: string) => `${keyid.slice(0, 16)}…`

// ------------------------------------------------------------------------------------------------------- keys

/** `outpost keys init` */
export async function runKeysInit(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine(
    'keys init',
    args,
    {
      dir: { type: 'string' },
      'root-keys': { type: 'string' },
      'root-threshold': { type: 'string' },
      'release-keys': { type: 'string' },
      'release-threshold': { type: 'string' },
      'director-keys': { type: 'string' },
      'expires-days': { type: 'string' },
      'passphrase-file': { type: 'string' },
      json: { type: 'boolean' },
    },
    false,
  )
  if (values.help) return help(context, usage.keysInit)
  const dir = resolvePath(context, required(values.dir, 'dir', 'keys init'))
  const count = (flag: 'root-keys' | 'root-threshold' | 'release-keys' | 'release-threshold' | 'director-keys') =>
    values[flag] === undefined ? undefined : parseCount(values[flag], flag, 1, 16)
  const passphrase = await passphraseOf(context, values['passphrase-file'])
  const summary = await initTrustRoot({
    dir,
    rootKeys: count('root-keys'),
    rootThreshold: count('root-threshold'),
    releaseKeys: count('release-keys'),
    releaseThreshold: count('release-threshold'),
    directorKeys: count('director-keys'),
    expiresInDays: parseWhole(values['expires-days'], 'expires-days', 1, 3650),
    passphrase,
    nowMs: Date.now(),
  })
  if (values.json) {
    context.stdout(JSON.stringify(summary, null, 2))
    return 0
  }
  const rows = roleNames.flatMap((role) => summary.roles[role].keys.map((key) => [role, `${summary.roles[role].threshold} of ${summary.roles[role].keys.length}`, key.name, shortKeyid(key.keyid), key.path]))
  context.stdout(
    [
      `Trust root written: ${summary.rootPath} (version ${summary.version}, expires ${formatInstant(summary.expiresAt)})`,
      formatTable(['ROLE', 'THRESHOLD', 'KEY', 'KEYID', 'FILE'], rows),
      'Move each root-* and release-* key file to its holder, offline. The control center needs only root.json and',
      'the director key: `outpost serve --trust-dir DIR` with keys/director-1.key inside DIR.',
    ].join('\n'),
  )
  return 0
}

interface ListedKey {
  role: string
  name: string
  /** Recomputed from the public key in the file; the header's keyid is never shown unchecked. */
  keyid: string
  file: string
  /** The role the root lists this keyid under; null when root.json is absent or does not list it. */
  rootRole: RoleName | null
  problem: string | null
}

/** `outpost keys list` */
export async function runKeysList(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine('keys list', args, { dir: { type: 'string' }, json: { type: 'boolean' } }, false)
  if (values.help) return help(context, usage.keysList)
  const dir = resolvePath(context, required(values.dir, 'dir', 'keys list'))
  let root: RootMetadata | null = null
  const rootPath = path.join(dir, 'root.json')
  try {
    const read = await readTrustedRoot(rootPath, Date.now())
    if (read.verdict === 'accept') root = read.root
    else context.stderr(`outpost: root.json not used: [${read.code}] ${read.reason}`)
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'not-found')) throw error
  }
  let names: string[]
  try {
    names = (await readdir(path.join(dir, 'keys'))).filter((name) => name.endsWith('.key')).sort()
  } catch {
    names = []
  }
  const keys: ListedKey[] = []
  for (const name of names) {
    const file = path.join(dir, 'keys', name)
    const header = await readKeyFile(file)
    const publicKey = decodeHex(header.public_key) ?? new Uint8Array()
    const keyid = keyIdOf(nodeSha256, publicKey)
    const rootRole = root === null ? null : (roleNames.find((role) => root.roles[role].keyids.includes(keyid)) ?? null)
    let problem: string | null = null
    if (keyid !== header.keyid) problem = 'the keyid in the file is not the SHA-256 of its public key'
    else if (root !== null && rootRole === null) problem = 'not listed in root.json'
    else if (rootRole !== null && rootRole !== header.role) problem = `root.json lists it as a ${rootRole} key`
    keys.push({ role: header.role, name: header.name, keyid, file, rootRole, problem })
  }
  if (values.json) {
    context.stdout(JSON.stringify({ dir, rootVersion: root?.version ?? null, keys }, null, 2))
  } else if (keys.length === 0) {
    context.stdout(`No key files in ${path.join(dir, 'keys')}. Create a trust root with \`outpost keys init --dir ${dir}\`.`)
  } else {
    context.stdout(
      formatTable(
        ['ROLE', 'KEY', 'KEYID', 'IN ROOT', 'FILE'],
        keys.map((key) => [key.role, key.name, shortKeyid(key.keyid), key.problem ?? (key.rootRole === null ? '-' : 'yes'), key.file]),
      ),
    )
  }
  return keys.some((key) => key.problem !== null) ? 1 : 0
}

// ---------------------------------------------------------------------------------------------------- release

/** `outpost release create` */
export async function runReleaseCreate(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine(
    'release create',
    args,
    {
      model: { type: 'string' },
      name: { type: 'string' },
      version: { type: 'string' },
      card: { type: 'string' },
      counter: { type: 'string' },
      'golden-inputs': { type: 'string' },
      'golden-outputs': { type: 'string' },
      tolerance: { type: 'string' },
      'expires-days': { type: 'string' },
      'execution-provider': { type: 'string', multiple: true },
      'override-reason': { type: 'string' },
      out: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    },
    false,
  )
  if (values.help) return help(context, usage.releaseCreate)
  const optionalPath = (value: string | undefined) => (value === undefined ? undefined : resolvePath(context, value))
  let tolerance: number | undefined
  if (values.tolerance !== undefined) {
    tolerance = Number(values.tolerance)
    if (values.tolerance.trim() === '' || !Number.isFinite(tolerance) || tolerance < 0) {
      throw new UsageError(`--tolerance must be a non-negative number such as 1e-4, not '${values.tolerance}'`)
    }
  }
  const created = await createReleaseBundle({
    modelPath: resolvePath(context, required(values.model, 'model', 'release create')),
    name: required(values.name, 'name', 'release create'),
    version: required(values.version, 'version', 'release create'),
    outDir: resolvePath(context, required(values.out, 'out', 'release create')),
    nowMs: Date.now(),
    cardPath: optionalPath(values.card),
    counter: parseWhole(values.counter, 'counter', 1, MAX_COUNTER),
    goldenInputsPath: optionalPath(values['golden-inputs']),
    goldenOutputsPath: optionalPath(values['golden-outputs']),
    tolerance,
    expiresInDays: parseWhole(values['expires-days'], 'expires-days', 1, 365),
    executionProviders: values['execution-provider'],
    overrideReason: values['override-reason'],
  })
  const { manifest } = created
  if (values.json) {
    context.stdout(
      JSON.stringify({
        bundle: created.bundleDir,
        releaseId: created.manifestSha256,
        modelId: manifest.model_id,
        releaseCounter: manifest.release_counter,
        version: manifest.version,
        expires: manifest.expires,
        files: manifest.files,
        isCounterDerived: created.isCounterDerived,
        areGoldenFilesRecorded: created.areGoldenFilesRecorded,
      }),
    )
    return 0
  }
  if (created.isCounterDerived) context.stderr(`Release counter ${manifest.release_counter} derived from version ${manifest.version} (pass --counter N to choose).`)
  if (created.areGoldenFilesRecorded) context.stderr('Golden files recorded from the model on CPU with generated inputs (pass --golden-inputs/--golden-outputs to use your own).')
  context.stdout(
    [
      `Created release ${manifest.model_id} #${manifest.release_counter} (${manifest.version}) in ${created.bundleDir}`,
      `manifest sha256 ${created.manifestSha256}, expires ${formatInstant(manifest.expires)}, unsigned`,
      `Next: each release signer runs \`outpost release sign ${created.bundleDir} --key release-N.key\`.`,
    ].join('\n'),
  )
  return 0
}

/** `outpost release sign` */
export async function runReleaseSign(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(
    'release sign',
    args,
    { key: { type: 'string' }, 'passphrase-file': { type: 'string' }, root: { type: 'string' }, json: { type: 'boolean' } },
    true,
  )
  if (values.help) return help(context, usage.releaseSign)
  if (positionals.length !== 1) throw new UsageError('release sign needs one BUNDLE folder (or floor record file); run `outpost release sign --help`')
  const keyPath = resolvePath(context, required(values.key, 'key', 'release sign'))
  let root: RootMetadata | undefined
  if (values.root !== undefined) {
    const read = await readTrustedRoot(resolvePath(context, values.root), Date.now())
    if (read.verdict === 'reject') throw trustRejectionError(read)
    root = read.root
  }
  const passphrase = await passphraseOf(context, values['passphrase-file'])
  const signed = await signRelease({ target: resolvePath(context, positionals[0] ?? ''), keyPath, passphrase, root })
  const counted = signed.summary?.signatures
  if (values.json) {
    context.stdout(
      JSON.stringify({
        file: signed.envelopePath,
        keyid: signed.keyid,
        signatureCount: signed.signatureCount,
        validSignatures: counted?.countedKeyids.length ?? null,
        threshold: counted?.threshold ?? null,
        isThresholdMet: counted?.isMet ?? null,
      }),
    )
    return 0
  }
  const lines = [`Signed ${signed.envelopePath} with key ${shortKeyid(signed.keyid)}; it now carries ${signed.signatureCount} signature(s).`]
  if (counted !== undefined) {
    lines.push(
      counted.isMet
        ? `Threshold met: ${counted.countedKeyids.length} valid signatures of the ${counted.threshold} required.`
        : `Threshold not met yet: ${counted.countedKeyids.length} valid signature(s) of the ${counted.threshold} required.`,
    )
  }
  context.stdout(lines.join('\n'))
  return 0
}

/** `outpost release verify`: exit 0 only for a fully valid bundle (or floor record). */
export async function runReleaseVerify(args: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine('release verify', args, { root: { type: 'string' }, json: { type: 'boolean' } }, true)
  if (values.help) return help(context, usage.releaseVerify)
  if (positionals.length !== 1) throw new UsageError('release verify needs one BUNDLE folder (or floor record file); run `outpost release verify --help`')
  const isJson = values.json ?? false
  const nowMs = Date.now()
  const rootPath = resolvePath(context, required(values.root, 'root', 'release verify'))
  const trusted = await readTrustedRoot(rootPath, nowMs)
  if (trusted.verdict === 'reject') return refuse(context, isJson, trusted)
  const target = await envelopePathOf(resolvePath(context, positionals[0] ?? ''))
  if (!target.isBundle) return verifyFloorFile(context, isJson, target.path, trusted.rootBytes, nowMs)

  const verified = await verifyBundle(path.dirname(target.path), { root: trusted.root, nowMs, signatures: 'threshold' })
  if (verified.verdict === 'reject') return refuse(context, isJson, verified)
  const { manifest, signatures } = verified
  if (isJson) {
    context.stdout(
      JSON.stringify({
        valid: true,
        releaseId: verified.manifestSha256,
        modelId: manifest.model_id,
        releaseCounter: manifest.release_counter,
        version: manifest.version,
        expires: manifest.expires,
        validSignatures: signatures.countedKeyids.length,
        threshold: signatures.threshold,
        files: manifest.files.map((file) => ({ name: file.name, length: file.length, sha256: file.sha256 })),
      }),
    )
  } else {
    context.stdout(
      `valid: ${manifest.model_id} #${manifest.release_counter} (${manifest.version}), ${signatures.countedKeyids.length} of ${signatures.threshold} release signatures, ` +
        `${manifest.files.length} files checked, expires ${formatInstant(manifest.expires)}`,
    )
  }
  return 0
}

async function verifyFloorFile(context: CliContext, isJson: boolean, file: string, rootBytes: Uint8Array, nowMs: number): Promise<number> {
  const trustContext = { nowMs, sha256: nodeSha256 }
  const state = createDeviceTrustState('floor-verifier', rootBytes, trustContext)
  if (state.verdict === 'reject') return refuse(context, isJson, state)
  const applied = applyFloorRecords(state.newState, [new Uint8Array(await readFile(file))], trustContext)
  if (applied.verdict === 'reject') return refuse(context, isJson, applied)
  const [record] = applied.records
  if (record === undefined) throw new AppError('internal', 'A verified floor file yielded no record')
  if (isJson) {
    context.stdout(JSON.stringify({ valid: true, type: 'floor', modelId: record.model_id, minReleaseCounter: record.min_release_counter, version: record.version, expires: record.expires }))
  } else {
    context.stdout(`valid: floor for ${record.model_id}: release counter >= ${record.min_release_counter} (floor version ${record.version}), expires ${formatInstant(record.expires)}`)
  }
  return 0
}

/** `outpost release floor`: an unsigned security floor record; release signers sign it like a bundle. */
export async function runReleaseFloor(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine(
    'release floor',
    args,
    {
      name: { type: 'string' },
      'min-counter': { type: 'string' },
      'floor-version': { type: 'string' },
      reason: { type: 'string' },
      'expires-days': { type: 'string' },
      out: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    },
    false,
  )
  if (values.help) return help(context, usage.releaseFloor)
  const name = required(values.name, 'name', 'release floor')
  if (!TrustModelId.safeParse(name).success) throw new UsageError(`--name '${name}' is not a release model id (1-64 letters, digits, dots, dashes or underscores)`)
  const minCounter = parseWhole(required(values['min-counter'], 'min-counter', 'release floor'), 'min-counter', 1, MAX_COUNTER) ?? 1
  // The default floor version is the counter itself: a higher floor always gets a higher version, with no state.
  const version = parseWhole(values['floor-version'], 'floor-version', 1, MAX_COUNTER) ?? minCounter
  const expiresInDays = parseWhole(values['expires-days'], 'expires-days', 1, 365) ?? 365
  const nowMs = Date.now()
  const record = FloorRecord.safeParse({
    spec: 'outpost-floor/1',
    model_id: name,
    min_release_counter: minCounter,
    version,
    issued: new Date(nowMs).toISOString(),
    expires: new Date(nowMs + expiresInDays * DAY_MS).toISOString(),
    reason: values.reason ?? '',
  })
  if (!record.success) throw new UsageError(`The floor record is not valid (${record.error.issues[0]?.message ?? 'invalid'})`)
  const out = resolvePath(context, required(values.out, 'out', 'release floor'))
  const envelope = encodeEnvelope(createEnvelope(nodeSha256, 'floor', encodePayload(record.data), []))
  if (decodeEnvelope(envelope, 'floor', 'floor').verdict === 'reject') throw new UsageError('The floor record is too large; shorten --reason')
  await writeFileDurably(out, encodeUtf8(new TextDecoder().decode(envelope)), { mode: 0o644, overwrite: false })
  if (values.json) {
    context.stdout(JSON.stringify({ file: out, modelId: name, minReleaseCounter: minCounter, version, expires: record.data.expires }))
  } else {
    context.stdout(`Wrote an unsigned floor record for ${name} (counter >= ${minCounter}, version ${version}) to ${out}.\nNext: release signers run \`outpost release sign ${out} --key release-N.key\`.`)
  }
  return 0
}
