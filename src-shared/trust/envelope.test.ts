import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { encodeBase64, encodeHex, encodeUtf8 } from './bytes.ts'
import { keyPairFromSeed } from './ed25519.ts'
import {
  addSignature,
  checkThreshold,
  createEnvelope,
  decodeEnvelope,
  encodeEnvelope,
  MAX_ENVELOPE_BYTES,
  MAX_SIGNATURES,
  signingInput,
  type TrustedRoleKeys,
} from './envelope.ts'
import { isSafeFileName, parsePayload, ReleaseManifest } from './metadata.ts'
import { checkCompat } from './verifyRelease.ts'
import { createRepositorySimulator } from './testing/repositorySimulator.ts'

const alice = keyPairFromSeed(new Uint8Array(32).fill(1))
const bob = keyPairFromSeed(new Uint8Array(32).fill(2))
const keyidOf = (publicKey: Uint8Array) => encodeHex(sha256(publicKey))
const both: TrustedRoleKeys = {
  role: 'release',
  threshold: 2,
  keys: new Map([
    [keyidOf(alice.publicKey), alice.publicKey],
    [keyidOf(bob.publicKey), bob.publicKey],
  ]),
}
const payload = encodeUtf8('{"hello":"world"}')

function decoded(bytes: Uint8Array) {
  const result = decodeEnvelope(bytes, 'release', 'release')
  if (result.verdict === 'reject') throw new Error(result.reason)
  return result.envelope
}

describe('signature envelope', () => {
  it('signs "outpost-sig-v1\\0" || type || "\\0" || payload', () => {
    expect(new TextDecoder().decode(signingInput('floor', encodeUtf8('x')))).toBe('outpost-sig-v1\0floor\0x')
  })

  it('meets a 2-of-2 threshold when both sign, counting each keyid once, and lets signatures be added separately', () => {
    const first = createEnvelope(sha256, 'release', payload, [alice])
    expect(checkThreshold(decoded(encodeEnvelope(first)), both).isMet).toBe(false)
    const second = addSignature(sha256, first, bob)
    const again = addSignature(sha256, second, bob)
    expect(again.signatures).toHaveLength(2)
    const result = checkThreshold(decoded(encodeEnvelope(again)), both)
    expect(result).toMatchObject({ isMet: true, threshold: 2, duplicateKeyids: [], unknownKeyids: [], invalidKeyids: [] })
    expect(result.countedKeyids).toEqual([keyidOf(alice.publicKey), keyidOf(bob.publicKey)].sort())
  })

  it('counts a keyid whose later duplicate entry verifies, once', () => {
    const signed = createEnvelope(sha256, 'release', payload, [alice])
    const good = signed.signatures[0]
    if (good === undefined) throw new Error('signed')
    const bad = { keyid: good.keyid, sig: '00'.repeat(64) }
    for (const signatures of [[bad, good, good], [good, bad]]) {
      const result = checkThreshold(decoded(encodeEnvelope({ ...signed, signatures })), { ...both, threshold: 1 })
      expect(result.countedKeyids).toEqual([good.keyid])
      expect(result.invalidKeyids).toEqual([])
      expect(result.duplicateKeyids).toEqual([good.keyid])
    }
  })

  it('checks the size cap before parsing anything', () => {
    const oversized = new Uint8Array(MAX_ENVELOPE_BYTES.directive + 1).fill(0xff)
    expect(decodeEnvelope(oversized, 'directive', 'directive')).toMatchObject({ code: 'oversized' })
    expect(decodeEnvelope(new Uint8Array([0xff]), 'directive', 'directive')).toMatchObject({ code: 'malformed' })
  })

  it('refuses extra envelope fields, too many signatures and uppercase hex', () => {
    const base = createEnvelope(sha256, 'release', payload, [alice])
    const withExtra = encodeUtf8(JSON.stringify({ ...base, extra: 1 }))
    expect(decodeEnvelope(withExtra, 'release', 'release')).toMatchObject({ code: 'malformed' })
    const many = { ...base, signatures: Array.from({ length: MAX_SIGNATURES + 1 }, () => base.signatures[0]) }
    expect(decodeEnvelope(encodeUtf8(JSON.stringify(many)), 'release', 'release')).toMatchObject({ code: 'malformed' })
    const upper = { ...base, signatures: base.signatures.map((entry) => ({ ...entry, sig: entry.sig.toUpperCase() })) }
    expect(decodeEnvelope(encodeUtf8(JSON.stringify(upper)), 'release', 'release')).toMatchObject({ code: 'malformed' })
    expect(decodeEnvelope(encodeUtf8(JSON.stringify({ ...base, payload: encodeBase64(payload).slice(0, -1) })), 'release', 'release')).toMatchObject({
      code: 'malformed',
    })
  })
})

describe('metadata rules', () => {
  it('allows one safe path segment per file name', () => {
    for (const name of ['model.onnx', 'golden_in.bin', 'a-b_c.d', 'x'.repeat(64), 'v1.2.3']) expect(isSafeFileName(name), name).toBe(true)
    for (const name of ['', '.', '..', '../x', 'a/b', 'a\\b', '.env', 'x'.repeat(65), 'a..b', 'a b', 'ü.bin', 'a\u0000b']) {
      expect(isSafeFileName(name), JSON.stringify(name)).toBe(false)
    }
  })

  it('parses only payloads that match the schema, naming the first problem', () => {
    const sim = createRepositorySimulator({ sha256, nowMs: Date.parse('2026-06-01T00:00:00Z') })
    const good = parsePayload(ReleaseManifest, encodeUtf8(JSON.stringify(sim.release())), 'release', 'release manifest')
    expect(good.verdict).toBe('accept')
    const bad = parsePayload(ReleaseManifest, encodeUtf8(JSON.stringify({ ...sim.release(), release_counter: 1.5 })), 'release', 'release manifest')
    expect(bad).toMatchObject({ verdict: 'reject', code: 'malformed' })
    if (bad.verdict === 'reject') expect(bad.reason).toContain('release_counter')
    const drift = sim.release({ drift: { features: [{ name: 'f', bin_edges: [1, 1], reference_counts: [1, 2, 3] }] } })
    expect(parsePayload(ReleaseManifest, encodeUtf8(JSON.stringify(drift)), 'release', 'release manifest')).toMatchObject({ code: 'malformed' })
  })

  it('compares runtime and agent versions numerically and refuses unparseable device versions', () => {
    const sim = createRepositorySimulator({ sha256, nowMs: 0 })
    const compat = { ...sim.release().compat, runtime_min_version: '1.9.0', agent_min_version: '0.10' }
    expect(checkCompat(compat, { ...sim.device, runtimeVersion: '1.30.0', agentVersion: '0.10.1' })).toEqual({ ok: true })
    expect(checkCompat(compat, { ...sim.device, runtimeVersion: '1.30.0-dev.1', agentVersion: '0.10.0' })).toEqual({ ok: true })
    expect(checkCompat(compat, { ...sim.device, runtimeVersion: '1.8.9', agentVersion: '0.10.1' }).ok).toBe(false)
    expect(checkCompat(compat, { ...sim.device, runtimeVersion: 'latest', agentVersion: '0.10.1' }).ok).toBe(false)
    expect(checkCompat(compat, { ...sim.device, runtimeVersion: '1.30.0', agentVersion: '0.9.9' }).ok).toBe(false)
  })
})
