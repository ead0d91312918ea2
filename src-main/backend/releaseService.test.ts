/**
 * The release service with its real adapters: a temp data dir, SQLite, the bundle store, a trust root from
 * `initTrustRoot` and bundles from `createReleaseBundle`. Key work is shared (one root, two signatures) because
 * every key operation runs scrypt.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { outpostEvents, outpostMethods } from '../../src-shared/contract/index.ts'
import type { ReleaseSummary } from '../../src-shared/contract/releasesContract.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { decodeBase64, encodeBase64, encodeUtf8 } from '../../src-shared/trust/bytes.ts'
import type { Envelope } from '../../src-shared/trust/envelope.ts'
import { createRpcClient } from '../../src-shared/rpc/createRpcClient.ts'
import { memoryTransportPair } from '../../src-shared/rpc/memoryTransport.ts'
import { serveContract } from '../../src-shared/rpc/serveContract.ts'
import { verifyDirective } from '../../src-shared/trust/verifyDirective.ts'
import { createDeviceTrustState } from '../../src-shared/trust/verifyRoot.ts'
import { createReleaseBundle } from '../adapters/bundle/createBundle.ts'
import { createFsReleaseBundleStore } from '../adapters/bundle/fsReleaseBundleStore.ts'
import { loadTrustDir } from '../adapters/bundle/loadTrustDir.ts'
import { signRelease } from '../adapters/bundle/signBundle.ts'
import { createManualClock } from '../adapters/clock/systemClock.ts'
import { initTrustRoot } from '../adapters/keystore/initTrustRoot.ts'
import { nodeSha256 } from '../adapters/keystore/keyFile.ts'
import { openDatabase, type SqliteDatabase } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteReleaseRepository } from '../adapters/sqlite/sqliteReleaseRepository.ts'
import type { TrustMaterial } from '../ports/ReleaseBundleStore.ts'
import { createReleaseService, type DirectiveRequest } from '../services/releaseService.ts'
import { createBackend } from './createBackend.ts'

const MODEL = fileURLToPath(new URL('../../fixtures/models/tiny-classifier.onnx', import.meta.url))
const PASSPHRASE = 'correct horse battery staple'
const DAY_MS = 24 * 3_600_000

let fixtureDir: string
let trustDir: string
let trust: TrustMaterial
/** Signed by release-1 only (pending) and by both release keys (complete); same manifest. */
let pendingBundle: string
let completeBundle: string
/** Another manifest with the same model id and counter. */
let rivalBundle: string
let nowMs: number

beforeAll(async () => {
  nowMs = Date.now()
  fixtureDir = mkdtempSync(join(tmpdir(), 'outpost-releases-fixture-'))
  trustDir = join(fixtureDir, 'trust')
  await initTrustRoot({ dir: trustDir, rootKeys: 1, rootThreshold: 1, releaseKeys: 2, releaseThreshold: 2, passphrase: PASSPHRASE, nowMs })
  trust = await loadTrustDir(trustDir, PASSPHRASE, nowMs)
  const card = join(fixtureDir, 'card.json')
  writeFileSync(
    card,
    JSON.stringify({
      cardVersion: 1,
      tool: { name: 'outpost', version: '0.4.0' },
      source: { sha256: 'cd'.repeat(32), fileName: 'tiny-fp32.onnx' },
      recipe: 'fp16',
      metrics: { sizeRatio: 0.5 },
      evaluation: { isReleaseReady: true, reasons: [], metrics: { top1Agreement: 1 } },
    }),
  )
  pendingBundle = join(fixtureDir, 'pending')
  await createReleaseBundle({ modelPath: MODEL, name: 'tiny', version: '2.0.0', outDir: pendingBundle, nowMs, cardPath: card })
  await signRelease({ target: pendingBundle, keyPath: join(trustDir, 'keys', 'release-1.key'), passphrase: PASSPHRASE })
  completeBundle = join(fixtureDir, 'complete')
  cpSync(pendingBundle, completeBundle, { recursive: true })
  await signRelease({ target: completeBundle, keyPath: join(trustDir, 'keys', 'release-2.key'), passphrase: PASSPHRASE })
  rivalBundle = join(fixtureDir, 'rival')
  await createReleaseBundle({ modelPath: MODEL, name: 'tiny', version: '2.0.0', outDir: rivalBundle, nowMs, tolerance: 0.5 })
  await signRelease({ target: rivalBundle, keyPath: join(trustDir, 'keys', 'release-1.key'), passphrase: PASSPHRASE })
})
afterAll(() => rmSync(fixtureDir, { recursive: true, force: true }))

let dataDir: string
let db: SqliteDatabase
let changed: ReleaseSummary[]

function service(trustMaterial: TrustMaterial | null = trust, clock = createManualClock(nowMs)) {
  return createReleaseService({
    releases: createSqliteReleaseRepository(db),
    bundles: createFsReleaseBundleStore(join(dataDir, 'releases')),
    trust: trustMaterial,
    sha256: nodeSha256,
    clock,
    onReleaseChanged: (release) => changed.push(release),
    log: silentLogger,
  })
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'outpost-releases-'))
  db = openDatabase(join(dataDir, 'outpost.db'))
  changed = []
})
afterEach(() => {
  db.close()
  rmSync(dataDir, { recursive: true, force: true })
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

const leftoverStages = () => (existsSync(join(dataDir, 'releases')) ? readdirSync(join(dataDir, 'releases')).filter((name) => name.startsWith('.')) : [])

function installDirective(release: ReleaseSummary, overrides: Partial<DirectiveRequest> = {}): DirectiveRequest {
  return {
    device_id: 'd-1',
    seq: 1,
    action: 'install',
    release: { model_id: release.modelId, release_counter: release.releaseCounter, manifest_sha256: release.releaseId },
    expect_current: { manifest_sha256: null },
    rollout: { id: 'r-1', stage: 0 },
    reason: 'canary',
    retry: false,
    ...overrides,
  }
}

describe('releaseService', () => {
  it('keeps a release short of its threshold as pending and adds signatures when it is imported again', async () => {
    const releases = service()
    const pending = await releases.importPath(pendingBundle)
    expect(pending.signatures).toMatchObject({ threshold: 2, validCount: 1, roleKeyCount: 2, isThresholdMet: false })
    expect(pending.signatures.entries.map((entry) => entry.status)).toEqual(['valid'])
    expect(pending).toMatchObject({ modelId: 'tiny', releaseCounter: 2_000_000, version: '2.0.0', isExpired: false, overrideReason: null })
    expect(pending.lineage).toMatchObject({ sourceSha256: 'cd'.repeat(32), recipe: 'fp16', toolVersion: '0.4.0', isReleaseReady: true })
    expect(pending.lineage?.metrics).toEqual([
      { name: 'sizeRatio', value: 0.5 },
      { name: 'evaluation.top1Agreement', value: 1 },
    ])

    const complete = await releases.importPath(completeBundle)
    expect(complete.releaseId).toBe(pending.releaseId)
    expect(complete.signatures).toMatchObject({ validCount: 2, isThresholdMet: true })
    expect((await releases.list()).map((release) => release.releaseId)).toEqual([pending.releaseId])
    expect(changed.map((release) => release.signatures.validCount)).toEqual([1, 2])

    // The stored copy is the verified one, addressed by the manifest digest, with the merged signatures.
    const stored = join(dataDir, 'releases', pending.releaseId)
    expect(readFileSync(join(stored, 'files', 'model.onnx'))).toEqual(readFileSync(MODEL))
    expect((JSON.parse(readFileSync(join(stored, 'release.json'), 'utf8')) as Envelope).signatures).toHaveLength(2)
    expect(leftoverStages()).toEqual([])

    // A fresh service over the same database (a restart) lists the same thing.
    expect(await service().list()).toEqual(await releases.list())
  })

  it('refuses a tampered bundle with its trust code and keeps nothing', async () => {
    const tampered = join(fixtureDir, 'tampered')
    rmSync(tampered, { recursive: true, force: true })
    cpSync(completeBundle, tampered, { recursive: true })
    const modelPath = join(tampered, 'files', 'model.onnx')
    const bytes = readFileSync(modelPath)
    bytes[64] = (bytes[64] ?? 0) ^ 0xff
    writeFileSync(modelPath, bytes)
    const error = await rejection(service().importPath(tampered))
    expect(error.code).toBe('hash-mismatch')
    expect(error.details).toMatchObject({ trustCode: 'hash-mismatch', stage: 'artifact' })
    expect(await service().list()).toEqual([])
    expect(leftoverStages()).toEqual([])
  })

  it('refuses a second manifest for a release counter already imported', async () => {
    const releases = service()
    await releases.importPath(completeBundle)
    const error = await rejection(releases.importPath(rivalBundle))
    expect(error.code).toBe('conflict')
    expect(error.message).toContain('tiny #2000000')
  })

  it('imports uploaded bundle files and refuses paths outside the bundle layout', async () => {
    const files = ['release.json', ...readdirSync(join(completeBundle, 'files')).map((name) => `files/${name}`), ...readdirSync(join(completeBundle, 'chunks')).map((name) => `chunks/${name}`)]
    const upload = files.map((path) => ({ path, bytes: new Uint8Array(readFileSync(join(completeBundle, path))) }))
    const imported = await service().importUpload(upload)
    expect(imported.signatures.isThresholdMet).toBe(true)

    const escaping = await rejection(service().importUpload([...upload, { path: 'files/../../escape.txt', bytes: encodeUtf8('x') }]))
    expect(escaping.code).toBe('path-unsafe')
    const foreign = await rejection(service().importUpload(upload.filter((file) => !file.path.startsWith('chunks/'))))
    expect(foreign.code).toBe('bundle-invalid')
    expect(foreign.details).toMatchObject({ trustCode: 'missing-file' })
  })

  it('refuses imports and directives without a trust root, but still lists', async () => {
    const releases = service(null)
    expect(releases.trustStatus()).toMatchObject({ isConfigured: false, rootVersion: null })
    expect((await rejection(releases.importPath(completeBundle))).code).toBe('trust-not-configured')
    expect(await releases.list()).toEqual([])
  })

  it('signs director directives that a device verifies against the root', async () => {
    const releases = service()
    const pending = await releases.importPath(pendingBundle)
    expect((await rejection(releases.signDirective(installDirective(pending)))).code).toBe('threshold-not-met')
    const complete = await releases.importPath(completeBundle)

    const signed = await releases.signDirective(installDirective(complete))
    const device = createDeviceTrustState('d-1', trust.rootEnvelopeBytes, { nowMs, sha256: nodeSha256 })
    if (device.verdict === 'reject') throw new Error(device.reason)
    const accepted = verifyDirective(device.newState, signed.envelopeBytes, { nowMs, sha256: nodeSha256 })
    expect(accepted.verdict).toBe('accept')
    if (accepted.verdict === 'accept') {
      expect(accepted.directive).toEqual(signed.directive)
      expect(accepted.directive).toMatchObject({ device_id: 'd-1', seq: 1, root_version: 1, release: { manifest_sha256: complete.releaseId } })
      expect(accepted.newState.directorSeq).toBe(1)
    }
    expect(signed.envelope.signatures.map((entry) => entry.keyid)).toEqual([trust.director.keyid])

    // Bound to its device: another device refuses it.
    const other = createDeviceTrustState('d-2', trust.rootEnvelopeBytes, { nowMs, sha256: nodeSha256 })
    if (other.verdict === 'reject') throw new Error(other.reason)
    expect(verifyDirective(other.newState, signed.envelopeBytes, { nowMs, sha256: nodeSha256 })).toMatchObject({ verdict: 'reject', code: 'wrong-device' })

    // A changed payload under the director's signature is a forgery.
    const forged: Envelope = { ...signed.envelope, payload: encodeBase64(encodeUtf8(new TextDecoder().decode(decodeBase64(signed.envelope.payload)).replace('"seq":1', '"seq":2'))) }
    const forgedBytes = encodeUtf8(JSON.stringify(forged))
    expect(verifyDirective(device.newState, forgedBytes, { nowMs, sha256: nodeSha256 })).toMatchObject({ verdict: 'reject', code: 'signature-invalid' })
  })

  it('refuses to direct devices to a release that is unknown, mismatched or expired', async () => {
    const clock = createManualClock(nowMs)
    const releases = service(trust, clock)
    const complete = await releases.importPath(completeBundle)
    const unknown = installDirective(complete, { release: { model_id: 'tiny', release_counter: 2_000_000, manifest_sha256: 'ef'.repeat(32) } })
    expect((await rejection(releases.signDirective(unknown))).code).toBe('not-found')
    const mismatched = installDirective(complete, { release: { model_id: 'tiny', release_counter: 7, manifest_sha256: complete.releaseId } })
    expect((await rejection(releases.signDirective(mismatched))).code).toBe('metadata-invalid')
    const noop = await releases.signDirective({ ...installDirective(complete), action: 'noop', release: null, expect_current: null })
    expect(noop.directive.action).toBe('noop')
    clock.advanceMs(181 * DAY_MS)
    expect((await rejection(releases.signDirective(installDirective(complete)))).code).toBe('metadata-expired')
  })
})

describe('createBackend with a trust folder', () => {
  it('refuses to start when the passphrase does not open the director key, before touching the data dir', async () => {
    const fresh = join(dataDir, 'fresh')
    const error = await rejection(
      createBackend({ dataDir: fresh, host: 'headless', broker: { kind: 'embedded', host: '127.0.0.1', port: 0 }, trust: { dir: trustDir, passphrase: 'not the passphrase' } }, silentLogger),
    )
    expect(error.code).toBe('unauthorized')
    expect(existsSync(fresh)).toBe(false)
  })

  it('serves trust status, import, list and the release.changed push over the contract', async () => {
    const backend = await createBackend(
      { dataDir: join(dataDir, 'backend'), host: 'headless', broker: { kind: 'embedded', host: '127.0.0.1', port: 0 }, trust: { dir: trustDir, passphrase: PASSPHRASE } },
      silentLogger,
    )
    try {
      const [serverSide, clientSide] = memoryTransportPair()
      serveContract(outpostMethods, backend.handlers, serverSide, silentLogger, { connectionId: 'test' })
      backend.events.attach(serverSide)
      const client = createRpcClient(outpostMethods, outpostEvents, clientSide, { validate: true, callTimeoutMs: 10_000 })
      const pushed: ReleaseSummary[] = []
      client.on('release.changed', (release) => pushed.push(release))
      expect(await client.call('releases.trustStatus', {})).toMatchObject({ isConfigured: true, rootVersion: 1, releaseThreshold: 2, directorKeyid: trust.director.keyid })
      const imported = await client.call('releases.import', { path: completeBundle })
      expect(imported.signatures.isThresholdMet).toBe(true)
      expect(await client.call('releases.list', {})).toEqual([imported])
      await vi.waitFor(() => expect(pushed.map((release) => release.releaseId)).toEqual([imported.releaseId]))
      const refused = await rejection(client.call('releases.upload', { files: [{ path: '../release.json', contentBase64: '' }] }))
      expect(refused.code).toBe('path-unsafe')
    } finally {
      await backend.close()
    }
  })
})
