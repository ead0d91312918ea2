/**
 * `outpost keys init`: a new trust root. Generates the root, release and director keys, writes each encrypted to
 * keys/<role>-<n>.key (0600), then root.json version 1 signed by every root key. root.json is written last, so
 * its presence means the whole set exists.
 */
import { access, mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { AppError } from '../../../src-shared/errors.ts'
import { encodeUtf8 } from '../../../src-shared/trust/bytes.ts'
import { buildRootMetadata, encodePayload } from '../../../src-shared/trust/buildMetadata.ts'
import { createEnvelope, encodeEnvelope } from '../../../src-shared/trust/envelope.ts'
import type { RoleName } from '../../../src-shared/trust/metadata.ts'
import { createDeviceTrustState } from '../../../src-shared/trust/verifyRoot.ts'
import { createKeyFile, nodeSha256, writeKeyFile, type OpenedKey } from './keyFile.ts'
import { assertNewPassphrase } from './passphrase.ts'
import { syncDirectory, writeFileDurably } from './durableWrite.ts'

export interface InitTrustRootOptions {
  dir: string
  rootKeys?: number
  rootThreshold?: number
  releaseKeys?: number
  releaseThreshold?: number
  directorKeys?: number
  expiresInDays?: number
  passphrase: string
  nowMs: number
  /** Lower scrypt cost for tests only; files always record what was used. */
  scrypt?: { n: number; r: number; p: number }
}

export interface TrustRootKeySummary {
  name: string
  keyid: string
  path: string
}

export interface TrustRootSummary {
  rootPath: string
  version: 1
  expiresAt: string
  roles: Record<RoleName, { threshold: number; keys: TrustRootKeySummary[] }>
}

const MAX_KEYS_PER_ROLE = 16

function checkCount(label: string, keys: number, threshold: number): void {
  if (!Number.isInteger(keys) || keys < 1 || keys > MAX_KEYS_PER_ROLE) {
    throw new AppError('invalid-input', `The ${label} role needs 1 to ${MAX_KEYS_PER_ROLE} keys, got ${keys}`)
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > keys) {
    throw new AppError('invalid-input', `The ${label} threshold must be between 1 and its ${keys} keys, got ${threshold}`)
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

export async function initTrustRoot(options: InitTrustRootOptions): Promise<TrustRootSummary> {
  const layout: Record<RoleName, { keys: number; threshold: number }> = {
    root: { keys: options.rootKeys ?? 5, threshold: options.rootThreshold ?? 3 },
    release: { keys: options.releaseKeys ?? 3, threshold: options.releaseThreshold ?? 2 },
    director: { keys: options.directorKeys ?? 1, threshold: 1 },
  }
  for (const [role, spec] of Object.entries(layout)) checkCount(role, spec.keys, spec.threshold)
  const expiresInDays = options.expiresInDays ?? 365
  if (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > 3650) {
    throw new AppError('invalid-input', `Root expiry must be 1 to 3650 days, got ${expiresInDays}`)
  }
  assertNewPassphrase(options.passphrase)

  const dir = resolve(options.dir)
  const keysDir = join(dir, 'keys')
  const rootPath = join(dir, 'root.json')
  const planned = (Object.keys(layout) as RoleName[]).flatMap((role) =>
    Array.from({ length: layout[role].keys }, (_, index) => ({ role, name: `${role}-${index + 1}`, path: join(keysDir, `${role}-${index + 1}.key`) })),
  )
  for (const path of [rootPath, ...planned.map((entry) => entry.path)]) {
    if (await exists(path)) throw new AppError('conflict', `${path} already exists; choose an empty folder for a new trust root`, { path })
  }
  try {
    await mkdir(keysDir, { recursive: true, mode: 0o700 })
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown error'
    throw new AppError('data-dir-unwritable', `Cannot create ${keysDir} (${code})`, { path: keysDir })
  }

  const opened = new Map<RoleName, Array<OpenedKey & { path: string }>>([
    ['root', []],
    ['release', []],
    ['director', []],
  ])
  for (const entry of planned) {
    const { keyFile, key } = await createKeyFile({
      name: entry.name,
      role: entry.role,
      passphrase: options.passphrase,
      nowMs: options.nowMs,
      ...(options.scrypt === undefined ? {} : { scrypt: options.scrypt }),
    })
    await writeKeyFile(entry.path, keyFile)
    opened.get(entry.role)?.push({ ...key, path: entry.path })
  }
  await syncDirectory(keysDir)

  const keysOf = (role: RoleName) => opened.get(role) ?? []
  const expiresAt = new Date(options.nowMs + expiresInDays * 24 * 3_600_000).toISOString()
  const root = buildRootMetadata(nodeSha256, {
    version: 1,
    expiresAt,
    roles: {
      root: { publicKeys: keysOf('root').map((key) => key.keyPair.publicKey), threshold: layout.root.threshold },
      release: { publicKeys: keysOf('release').map((key) => key.keyPair.publicKey), threshold: layout.release.threshold },
      director: { publicKeys: keysOf('director').map((key) => key.keyPair.publicKey), threshold: layout.director.threshold },
    },
  })
  const envelope = createEnvelope(nodeSha256, 'root', encodePayload(root), keysOf('root').map((key) => key.keyPair))
  const rootBytes = encodeEnvelope(envelope)
  // A device must accept what was just written; checking here catches a broken root before anyone ships it.
  const check = createDeviceTrustState('self-check', rootBytes, { nowMs: options.nowMs, sha256: nodeSha256 })
  if (check.verdict === 'reject') throw new AppError('internal', `The new root does not verify: ${check.reason}`)
  await writeFileDurably(rootPath, encodeUtf8(`${new TextDecoder().decode(rootBytes)}\n`), { mode: 0o644, overwrite: false })

  const summarize = (role: RoleName) => ({
    threshold: layout[role].threshold,
    keys: keysOf(role).map((key) => ({ name: key.name, keyid: key.keyid, path: key.path })),
  })
  return { rootPath, version: 1, expiresAt, roles: { root: summarize('root'), release: summarize('release'), director: summarize('director') } }
}
