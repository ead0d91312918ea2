import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { encodeUtf8 } from '../../../src-shared/trust/bytes.ts'
import { createRepositorySimulator } from '../../../src-shared/trust/testing/repositorySimulator.ts'
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../../../src-shared/trust/envelope.ts'
import { createDeviceTrustState } from '../../../src-shared/trust/verifyRoot.ts'
import { verifyReleaseManifest } from '../../../src-shared/trust/verifyRelease.ts'
import { initTrustRoot } from './initTrustRoot.ts'
import { createKeyFile, KeyFile, loadKey, nodeSha256, openKeyFile, readKeyFile, writeKeyFile } from './keyFile.ts'
import { PASSPHRASE_ENV, resolvePassphrase } from './passphrase.ts'
import { addSignatureToEnvelope, signEnvelope } from './signing.ts'

const NOW = Date.parse('2026-06-01T12:00:00.000Z')
const PASSPHRASE = 'correct horse battery staple'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-keystore-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
  throw new Error('expected an AppError')
}

describe('key files', () => {
  it('encrypts with scrypt (N=2^15, r=8, p=1) + AES-256-GCM and opens only with the passphrase', async () => {
    const { keyFile, key } = await createKeyFile({ name: 'release-1', role: 'release', passphrase: PASSPHRASE, nowMs: NOW })
    expect(keyFile.kdf).toMatchObject({ name: 'scrypt', n: 32768, r: 8, p: 1 })
    expect(keyFile.cipher.name).toBe('aes-256-gcm')
    expect(JSON.stringify(keyFile)).not.toContain(Buffer.from(key.keyPair.secretKey.subarray(0, 32)).toString('hex'))
    const opened = await openKeyFile(keyFile, PASSPHRASE)
    expect(opened.keyPair.publicKey).toEqual(key.keyPair.publicKey)
    expect(opened.keyid).toBe(Buffer.from(nodeSha256(key.keyPair.publicKey)).toString('hex'))
    const wrong = await rejection(openKeyFile(keyFile, 'not the passphrase'))
    expect(wrong.code).toBe('unauthorized')
    expect(wrong.message).toMatch(/passphrase/)
  })

  it('refuses a file whose header was edited (role relabelled), a weakened KDF and a new short passphrase', async () => {
    const { keyFile } = await createKeyFile({ name: 'director-1', role: 'director', passphrase: PASSPHRASE, nowMs: NOW })
    expect((await rejection(openKeyFile({ ...keyFile, role: 'release' }, PASSPHRASE))).code).toBe('unauthorized')
    expect(KeyFile.safeParse({ ...keyFile, kdf: { ...keyFile.kdf, n: 1024 } }).success).toBe(false)
    const path = join(dir, 'weak.key')
    await writeFile(path, JSON.stringify({ ...keyFile, kdf: { ...keyFile.kdf, n: 1024 } }))
    expect((await rejection(readKeyFile(path))).code).toBe('invalid-input')
    expect((await rejection(createKeyFile({ name: 'x', role: 'root', passphrase: 'short', nowMs: NOW }))).code).toBe('invalid-input')
  })

  it('writes key files with mode 0600 and never over an existing file', async () => {
    const { keyFile } = await createKeyFile({ name: 'root-1', role: 'root', passphrase: PASSPHRASE, nowMs: NOW })
    const path = join(dir, 'root-1.key')
    await writeKeyFile(path, keyFile)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await rejection(writeKeyFile(path, keyFile))).code).toBe('conflict')
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([])
    expect((await loadKey(path, PASSPHRASE)).name).toBe('root-1')
  })
})

describe('passphrase sources', () => {
  it('prefers an explicit passphrase, then --passphrase-file, then the environment', async () => {
    const file = join(dir, 'pass.txt')
    await writeFile(file, 'from the file\n')
    const env = { [PASSPHRASE_ENV]: 'from the env' }
    expect(await resolvePassphrase({ passphrase: 'explicit', passphraseFile: file, env })).toBe('explicit')
    expect(await resolvePassphrase({ passphraseFile: file, env })).toBe('from the file')
    expect(await resolvePassphrase({ env })).toBe('from the env')
  })

  it('names what is missing or empty', async () => {
    expect((await rejection(resolvePassphrase({ env: {} }))).message).toContain(PASSPHRASE_ENV)
    expect((await rejection(resolvePassphrase({ passphraseFile: join(dir, 'absent') }))).code).toBe('not-found')
    const empty = join(dir, 'empty.txt')
    await writeFile(empty, '\n')
    expect((await rejection(resolvePassphrase({ passphraseFile: empty }))).code).toBe('invalid-input')
  })
})

describe('initTrustRoot and offline threshold signing', () => {
  it('creates a 3-of-5 / 2-of-3 / 1 trust root that a device accepts, and refuses to overwrite it', { timeout: 120_000 }, async () => {
    const summary = await initTrustRoot({ dir, passphrase: PASSPHRASE, nowMs: NOW })
    expect(summary.version).toBe(1)
    expect(summary.expiresAt).toBe('2027-06-01T12:00:00.000Z')
    expect(summary.roles.root.keys).toHaveLength(5)
    expect(summary.roles.root.threshold).toBe(3)
    expect(summary.roles.release.keys.map((key) => key.name)).toEqual(['release-1', 'release-2', 'release-3'])
    expect(summary.roles.director.keys).toHaveLength(1)
    const keyFiles = (await readdir(join(dir, 'keys'))).sort()
    expect(keyFiles).toEqual(['director-1.key', 'release-1.key', 'release-2.key', 'release-3.key', 'root-1.key', 'root-2.key', 'root-3.key', 'root-4.key', 'root-5.key'])
    for (const name of keyFiles) expect((await stat(join(dir, 'keys', name))).mode & 0o777).toBe(0o600)

    const rootBytes = new Uint8Array(await readFile(summary.rootPath))
    const state = createDeviceTrustState('d-1', rootBytes, { nowMs: NOW, sha256: nodeSha256 })
    expect(state.verdict).toBe('accept')
    if (state.verdict !== 'accept') return
    expect(state.newState.root.roles.release.keyids).toEqual(summary.roles.release.keys.map((key) => key.keyid))

    // Threshold signing by two people: the first signs, the second adds a signature on another machine.
    const sim = createRepositorySimulator({ sha256: nodeSha256, nowMs: NOW })
    const payload = encodeUtf8(JSON.stringify(sim.release()))
    const first = encodeEnvelope(await signEnvelope(payload, 'release', [join(dir, 'keys', 'release-2.key')], PASSPHRASE))
    const context = { nowMs: NOW, sha256: nodeSha256 }
    expect(verifyReleaseManifest(state.newState.root, first, context)).toMatchObject({ verdict: 'reject', code: 'threshold-not-met' })
    const second = await addSignatureToEnvelope(first, join(dir, 'keys', 'release-3.key'), PASSPHRASE)
    const twice = await addSignatureToEnvelope(second, join(dir, 'keys', 'release-3.key'), PASSPHRASE)
    const verified = verifyReleaseManifest(state.newState.root, twice, context)
    expect(verified.verdict).toBe('accept')
    if (verified.verdict === 'accept') expect(verified.signatures.countedKeyids).toHaveLength(2)
    const decoded = decodeEnvelope(twice, 'release', 'release')
    if (decoded.verdict === 'accept') expect(decoded.envelope.signatures).toHaveLength(2)

    // A director key cannot sign a release; a wrong passphrase cannot sign at all.
    expect((await rejection(signEnvelope(payload, 'release', [join(dir, 'keys', 'director-1.key')], PASSPHRASE))).code).toBe('invalid-input')
    expect((await rejection(addSignatureToEnvelope(first, join(dir, 'keys', 'release-1.key'), 'wrong passphrase!'))).code).toBe('unauthorized')

    // The root is signed by every root key, so any 3 of its 5 signatures are still a valid threshold.
    const rootJson = JSON.parse(new TextDecoder().decode(rootBytes)) as Envelope
    expect(rootJson.signatures).toHaveLength(5)
    const keep = (count: number) => encodeEnvelope({ ...rootJson, signatures: rootJson.signatures.slice(5 - count) })
    expect(createDeviceTrustState('d-1', keep(3), context).verdict).toBe('accept')
    expect(createDeviceTrustState('d-1', keep(2), context)).toMatchObject({ verdict: 'reject', code: 'threshold-not-met' })

    expect((await rejection(initTrustRoot({ dir, passphrase: PASSPHRASE, nowMs: NOW }))).code).toBe('conflict')
  })

  it('validates the layout before writing anything', async () => {
    expect((await rejection(initTrustRoot({ dir, passphrase: PASSPHRASE, nowMs: NOW, rootKeys: 2, rootThreshold: 3 }))).code).toBe('invalid-input')
    expect((await rejection(initTrustRoot({ dir, passphrase: 'short', nowMs: NOW }))).code).toBe('invalid-input')
    expect(await readdir(dir)).toEqual([])
  })
})
