/**
 * Bundle verification in process, one mutation per case, with the repository simulator's deterministic keys (no
 * scrypt). The CLI test covers the same checks end to end through child processes.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodeHex } from '../../../src-shared/trust/bytes.ts'
import { encodeEnvelope } from '../../../src-shared/trust/envelope.ts'
import type { ReleaseManifest } from '../../../src-shared/trust/metadata.ts'
import { createRepositorySimulator } from '../../../src-shared/trust/testing/repositorySimulator.ts'
import { nodeSha256 } from '../keystore/keyFile.ts'
import { chunkListFileName, parseBundlePath } from './bundleLayout.ts'
import { verifyBundle, type VerifyBundleOptions } from './verifyBundle.ts'

const NOW = Date.parse('2026-06-01T12:00:00.000Z')
const sim = createRepositorySimulator({ sha256: nodeSha256, nowMs: NOW })
const root = sim.root({ version: 1 })
const BOTH = ['release-1', 'release-2']

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-bundle-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** The simulator's release written as a bundle folder. */
let bundleCount = 0
function writeBundle(options: { manifest?: ReleaseManifest; signers?: readonly string[]; envelope?: Uint8Array } = {}): string {
  bundleCount += 1
  const bundle = join(dir, `bundle-${bundleCount}`)
  mkdirSync(join(bundle, 'files'), { recursive: true })
  mkdirSync(join(bundle, 'chunks'))
  for (const { file, bytes, chunkListBytes } of Object.values(sim.files)) {
    writeFileSync(join(bundle, 'files', file.name), bytes)
    if (chunkListBytes !== undefined) writeFileSync(join(bundle, 'chunks', chunkListFileName(file.chunk_list_sha256 ?? '')), chunkListBytes)
  }
  const manifest = options.manifest ?? sim.release({ drift: undefined })
  writeFileSync(join(bundle, 'release.json'), options.envelope ?? sim.signed('release', manifest, options.signers ?? BOTH))
  return bundle
}

const options = (overrides: Partial<VerifyBundleOptions> = {}): VerifyBundleOptions => ({ root, nowMs: NOW, signatures: 'threshold', ...overrides })

describe('verifyBundle', () => {
  it('accepts a complete bundle and reports its manifest digest', async () => {
    const manifest = sim.release({ drift: undefined })
    const result = await verifyBundle(writeBundle({ manifest }), options())
    expect(result).toMatchObject({ verdict: 'accept', manifestSha256: sim.manifestSha256(manifest) })
  })

  it.each([
    ['one of two signatures under the threshold policy', { signers: ['release-1'] }, options(), 'threshold-not-met'],
    ['no signature even when pending is allowed', { signers: [] }, options({ signatures: 'pending' }), 'threshold-not-met'],
    ['a director key signing a release', { signers: ['director-1', 'release-1'] }, options(), 'threshold-not-met'],
    ['an expired manifest', {}, options({ nowMs: NOW + 181 * 24 * 3_600_000 }), 'metadata-expired'],
    ['a directive in place of release.json', { envelope: sim.signed('directive', sim.directive(), ['director-1']) }, options(), 'wrong-type'],
    ['a release.json over its cap', { envelope: new Uint8Array(64 * 1024 + 1).fill(32) }, options(), 'oversized'],
  ] as const)('refuses %s', async (_name, bundle, verifyOptions, code) => {
    expect(await verifyBundle(writeBundle(bundle), verifyOptions)).toMatchObject({ verdict: 'reject', code })
  })

  it('keeps one valid signature as pending but refuses a forged one', async () => {
    expect(await verifyBundle(writeBundle({ signers: ['release-1'] }), options({ signatures: 'pending' }))).toMatchObject({ verdict: 'accept' })
    const envelope = sim.envelope('release', sim.release({ drift: undefined }), BOTH)
    const [first] = envelope.signatures
    if (first === undefined) throw new Error('no signature')
    first.sig = encodeHex(Uint8Array.from(Buffer.from(first.sig, 'hex'), (byte, index) => (index === 5 ? byte ^ 1 : byte)))
    const forged = writeBundle({ envelope: encodeEnvelope(envelope) })
    expect(await verifyBundle(forged, options({ signatures: 'pending' }))).toMatchObject({ verdict: 'reject', code: 'signature-invalid' })
  })

  it('refuses a changed chunk list, a symbolic link and a folder in place of a file', async () => {
    const bundle = writeBundle()
    const chunkList = join(bundle, 'chunks', chunkListFileName(sim.files.model.file.chunk_list_sha256 ?? ''))
    writeFileSync(chunkList, `${new TextDecoder().decode(sim.files.model.chunkListBytes)} `)
    expect(await verifyBundle(bundle, options())).toMatchObject({ verdict: 'reject', code: 'hash-mismatch', stage: 'artifact' })

    const linked = writeBundle()
    const golden = join(linked, 'files', sim.files.goldenInputs.file.name)
    rmSync(golden)
    writeFileSync(join(dir, 'outside.bin'), sim.files.goldenInputs.bytes)
    symlinkSync(join(dir, 'outside.bin'), golden)
    expect(await verifyBundle(linked, options())).toMatchObject({ verdict: 'reject', code: 'unexpected-file', reason: expect.stringContaining('symbolic link') })

    rmSync(golden)
    mkdirSync(golden)
    expect(await verifyBundle(linked, options())).toMatchObject({ verdict: 'reject', code: 'unexpected-file' })
  })
})

describe('parseBundlePath', () => {
  it.each([
    ['release.json', true],
    ['files/model.onnx', true],
    [`chunks/${'a'.repeat(64)}.json`, true],
    ['files/../release.json', false],
    ['files/.hidden', false],
    ['files/a/b', false],
    ['chunks/model.json', false],
    ['/etc/passwd', false],
    ['other/x', false],
    ['files/', false],
  ])('%s → %s', (path, isAllowed) => {
    expect(parseBundlePath(path) !== undefined).toBe(isAllowed)
  })
})
