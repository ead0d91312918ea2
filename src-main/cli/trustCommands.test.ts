/**
 * `outpost keys` and `outpost release` as an operator and a CI pipeline run them: real child processes, real exit
 * codes. One trust root (1 root key, 2-of-2 release keys, 1 director key) keeps the scrypt work small.
 */
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { decodeBase64, encodeBase64, encodeUtf8 } from '../../src-shared/trust/bytes.ts'
import { addSignature, encodeEnvelope, type Envelope } from '../../src-shared/trust/envelope.ts'
import { loadKey, nodeSha256 } from '../adapters/keystore/keyFile.ts'
import { outputLines, runOutpost } from './testing/runOutpost.ts'

const MODEL = fileURLToPath(new URL('../../fixtures/models/tiny-classifier.onnx', import.meta.url))
const PASSPHRASE = 'correct horse battery staple'

let workDir: string
let trustDir: string
let passphraseFile: string
let rootFile: string
const children: ChildProcess[] = []

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'outpost-trust-cli-'))
  trustDir = path.join(workDir, 'trust')
  rootFile = path.join(trustDir, 'root.json')
  passphraseFile = path.join(workDir, 'passphrase.txt')
  writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 })
})
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

interface Result {
  exitCode: number | null
  stdout: string
  stderr: string
}

function outpost(args: string[], env: Record<string, string> = {}, timeoutMs = 25_000): Promise<Result> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
  delete childEnv['OUTPOST_DEBUG']
  if (!('OUTPOST_KEY_PASSPHRASE' in env)) delete childEnv['OUTPOST_KEY_PASSPHRASE']
  return runOutpost(args, { env: childEnv, cwd: workDir, timeoutMs, onSpawn: (child) => children.push(child) })
}

const lines = outputLines
const key = (name: string) => path.join(trustDir, 'keys', `${name}.key`)
const verify = (bundle: string, ...extra: string[]) => outpost(['release', 'verify', bundle, '--root', rootFile, ...extra])
const sign = (bundle: string, keyName: string, ...extra: string[]) =>
  outpost(['release', 'sign', bundle, '--key', key(keyName), '--passphrase-file', passphraseFile, ...extra])

/** Exit 1 and exactly one line on standard error naming the code. */
function expectFailure(result: Result, code: string): void {
  expect(result.exitCode, result.stderr).toBe(1)
  expect(lines(result.stderr)).toHaveLength(1)
  expect(result.stderr).toMatch(new RegExp(`^outpost: error \\[${code}\\] \\S`))
}

function copyBundle(from: string, name: string): string {
  const to = path.join(workDir, name)
  cpSync(from, to, { recursive: true })
  return to
}

// Child processes start slowly on a loaded machine; the bound only keeps a hung command from stalling the run.
describe('outpost keys', { timeout: 90_000 }, () => {
  it('refuses to create keys without a passphrase source', async () => {
    const result = await outpost(['keys', 'init', '--dir', path.join(workDir, 'no-passphrase')])
    expectFailure(result, 'invalid-input')
    expect(result.stderr).toContain('OUTPOST_KEY_PASSPHRASE')
    expect(existsSync(path.join(workDir, 'no-passphrase', 'root.json'))).toBe(false)
  })

  it('creates a trust root non-interactively and refuses to overwrite it', async () => {
    const args = ['keys', 'init', '--dir', trustDir, '--root-keys', '1', '--root-threshold', '1', '--release-keys', '2', '--release-threshold', '2']
    const created = await outpost([...args, '--json'], { OUTPOST_KEY_PASSPHRASE: PASSPHRASE })
    expect(created.exitCode, created.stderr).toBe(0)
    const summary = JSON.parse(created.stdout) as { version: number; roles: Record<string, { threshold: number; keys: Array<{ path: string }> }> }
    expect(summary.version).toBe(1)
    expect(summary.roles['release']?.threshold).toBe(2)
    expect(summary.roles['director']?.keys).toHaveLength(1)
    expect(statSync(key('release-1')).mode & 0o777).toBe(0o600)
    const rootBefore = readFileSync(rootFile)

    const again = await outpost(args, { OUTPOST_KEY_PASSPHRASE: PASSPHRASE })
    expectFailure(again, 'conflict')
    expect(readFileSync(rootFile)).toEqual(rootBefore)
  })

  it('lists the keys with key ids recomputed from their public keys', async () => {
    const result = await outpost(['keys', 'list', '--dir', trustDir, '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    const listed = JSON.parse(result.stdout) as { keys: Array<{ role: string; keyid: string; rootRole: string | null; problem: string | null; file: string }> }
    expect(listed.keys.map((entry) => entry.role).sort()).toEqual(['director', 'release', 'release', 'root'])
    for (const entry of listed.keys) {
      const file = JSON.parse(readFileSync(entry.file, 'utf8')) as { public_key: string }
      expect(entry.keyid).toBe(createHash('sha256').update(Buffer.from(file.public_key, 'hex')).digest('hex'))
      expect(entry.rootRole).toBe(entry.role)
      expect(entry.problem).toBeNull()
    }
  })
})

describe('outpost release', { timeout: 90_000 }, () => {
  let bundle: string

  it('creates an unsigned bundle that verify refuses for its missing signatures', async () => {
    bundle = path.join(workDir, 'tiny-1.2.3')
    const created = await outpost(['release', 'create', '--model', MODEL, '--name', 'tiny', '--version', '1.2.3', '-o', bundle, '--json'])
    expect(created.exitCode, created.stderr).toBe(0)
    const result = JSON.parse(created.stdout) as { releaseCounter: number; files: Array<{ name: string }> }
    // The documented default: MAJOR*1000000 + MINOR*1000 + PATCH.
    expect(result.releaseCounter).toBe(1_002_003)
    expect(result.files.map((file) => file.name)).toEqual(['model.onnx', 'golden_inputs.npz', 'golden_outputs.npz'])
    expect(readFileSync(path.join(bundle, 'files', 'model.onnx'))).toEqual(readFileSync(MODEL))
    expectFailure(await verify(bundle), 'threshold-not-met')
  })

  it('needs both release signers: one signature is not enough, two verify', async () => {
    const first = await sign(bundle, 'release-1', '--root', rootFile)
    expect(first.exitCode, first.stderr).toBe(0)
    expect(first.stdout).toContain('1 valid signature(s) of the 2 required')
    const short = await verify(bundle)
    expectFailure(short, 'threshold-not-met')
    expect(short.stderr).toContain('1 valid release signature(s) of the 2 required')

    expect((await sign(bundle, 'release-2')).exitCode).toBe(0)
    const valid = await verify(bundle, '--json')
    expect(valid.exitCode, valid.stderr).toBe(0)
    expect(JSON.parse(valid.stdout)).toMatchObject({ valid: true, modelId: 'tiny', releaseCounter: 1_002_003, validSignatures: 2, threshold: 2 })
  })

  it('refuses a signing key opened with the wrong passphrase, in one line', async () => {
    const wrong = path.join(workDir, 'wrong-passphrase.txt')
    writeFileSync(wrong, 'not the passphrase\n')
    const before = readFileSync(path.join(bundle, 'release.json'))
    const result = await outpost(['release', 'sign', bundle, '--key', key('release-1'), '--passphrase-file', wrong])
    expectFailure(result, 'unauthorized')
    expect(readFileSync(path.join(bundle, 'release.json'))).toEqual(before)
  })

  it('names the exact failure of a tampered, truncated or padded bundle', async () => {
    const tampered = copyBundle(bundle, 'tampered')
    const modelPath = path.join(tampered, 'files', 'model.onnx')
    const bytes = readFileSync(modelPath)
    bytes[100] = (bytes[100] ?? 0) ^ 0x01
    writeFileSync(modelPath, bytes)

    const truncated = copyBundle(bundle, 'truncated')
    truncateSync(path.join(truncated, 'files', 'golden_outputs.npz'), 10)

    const padded = copyBundle(bundle, 'padded')
    writeFileSync(path.join(padded, 'files', 'model.onnx'), Buffer.concat([readFileSync(MODEL), Buffer.from([0])]))

    const extra = copyBundle(bundle, 'extra')
    writeFileSync(path.join(extra, 'files', 'payload.sh'), '#!/bin/sh\n')

    const missing = copyBundle(bundle, 'missing')
    rmSync(path.join(missing, 'files', 'golden_inputs.npz'))

    const [tamperedResult, truncatedResult, paddedResult, extraResult, missingResult] = await Promise.all([tampered, truncated, padded, extra, missing].map((dir) => verify(dir)))
    if (!tamperedResult || !truncatedResult || !paddedResult || !extraResult || !missingResult) throw new Error('a verify run is missing')
    expectFailure(tamperedResult, 'hash-mismatch')
    expectFailure(truncatedResult, 'length-mismatch')
    expectFailure(paddedResult, 'length-mismatch')
    expectFailure(extraResult, 'unexpected-file')
    expect(extraResult.stderr).toContain('payload.sh')
    expectFailure(missingResult, 'missing-file')
  })

  it('refuses a manifest naming a path outside the bundle, before signing and when verifying', async () => {
    const traversal = copyBundle(bundle, 'traversal')
    const releasePath = path.join(traversal, 'release.json')
    const envelope = JSON.parse(readFileSync(releasePath, 'utf8')) as Envelope
    const manifest = JSON.parse(new TextDecoder().decode(decodeBase64(envelope.payload))) as { files: Array<{ name: string }>; compat: { variants: Array<{ file: string }> } }
    const [modelFile] = manifest.files
    if (modelFile === undefined) throw new Error('the manifest lists no files')
    modelFile.name = '../model.onnx'
    for (const variant of manifest.compat.variants) variant.file = '../model.onnx'
    let unsigned: Envelope = { type: 'release', payload: encodeBase64(encodeUtf8(JSON.stringify(manifest))), signatures: [] }
    writeFileSync(releasePath, encodeEnvelope(unsigned))
    expectFailure(await sign(traversal, 'release-1'), 'path-unsafe')

    // A signer who signed it anyway (with both keys) still gets nothing past verify.
    for (const name of ['release-1', 'release-2']) unsigned = addSignature(nodeSha256, unsigned, (await loadKey(key(name), PASSPHRASE)).keyPair)
    writeFileSync(releasePath, encodeEnvelope(unsigned))
    const result = await verify(traversal)
    expectFailure(result, 'path-unsafe')
    expect(result.stderr).toContain('files.0.name')
  })

  it('writes a security floor record that verifies once both release signers signed it', async () => {
    const floor = path.join(workDir, 'tiny-floor.json')
    const created = await outpost(['release', 'floor', '--name', 'tiny', '--min-counter', '1002003', '--reason', 'CVE in 1.2.2', '-o', floor])
    expect(created.exitCode, created.stderr).toBe(0)
    expectFailure(await verify(floor), 'threshold-not-met')
    expect((await sign(floor, 'release-1')).exitCode).toBe(0)
    expect((await sign(floor, 'release-2')).exitCode).toBe(0)
    const valid = await verify(floor, '--json')
    expect(valid.exitCode, valid.stderr).toBe(0)
    // The default floor version is the counter, so a later, higher floor always has a higher version.
    expect(JSON.parse(valid.stdout)).toMatchObject({ valid: true, type: 'floor', modelId: 'tiny', minReleaseCounter: 1_002_003, version: 1_002_003 })
    // A release.json given directly stands for its bundle, files included.
    expect((await verify(path.join(bundle, 'release.json'))).exitCode).toBe(0)
  })

  it('refuses a candidate whose model card failed its gate unless an override reason is recorded', async () => {
    const card = path.join(workDir, 'card.json')
    writeFileSync(
      card,
      JSON.stringify({
        cardVersion: 1,
        source: { sha256: 'ab'.repeat(32), fileName: 'tiny-fp32.onnx' },
        recipe: 'int8-dynamic',
        evaluation: { isReleaseReady: false, reasons: ['Top-1 agreement with the baseline is 91.00%, below the required 99.00%.'] },
      }),
    )
    const base = ['release', 'create', '--model', MODEL, '--name', 'tiny', '--version', '1.3.0', '--card', card]
    const refused = await outpost([...base, '-o', path.join(workDir, 'not-ready')])
    expectFailure(refused, 'not-release-ready')
    expect(refused.stderr).toContain('91.00%')
    expect(existsSync(path.join(workDir, 'not-ready'))).toBe(false)

    const overridden = await outpost([...base, '--override-reason', 'Field test on 3 devices only', '-o', path.join(workDir, 'overridden')])
    expect(overridden.exitCode, overridden.stderr).toBe(0)
    const envelope = JSON.parse(readFileSync(path.join(workDir, 'overridden', 'release.json'), 'utf8')) as Envelope
    const manifest = JSON.parse(new TextDecoder().decode(decodeBase64(envelope.payload))) as { release_override?: { reason: string }; card: string }
    expect(manifest.release_override?.reason).toBe('Field test on 3 devices only')
    expect(manifest.card).toContain('int8-dynamic')
  })
})
