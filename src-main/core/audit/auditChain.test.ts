import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { buildAuditEntry, GENESIS_HASH, verifyAuditChain, type AuditEntry } from './auditChain.ts'
import { canonicalJson } from './canonicalJson.ts'
import { encodeHex } from '../../../src-shared/trust/bytes.ts'

const sha256 = (bytes: Uint8Array) => encodeHex(nobleSha256(bytes))

function aChain(length: number): AuditEntry[] {
  const entries: AuditEntry[] = []
  for (let index = 0; index < length; index += 1) {
    const head = entries.at(-1) ?? null
    entries.push(
      buildAuditEntry(
        sha256,
        head && { seq: head.seq, hash: head.hash },
        { actor: index % 2 ? 'system' : 'alice', action: 'rollout.paused', subject: 'r-0123456789ab', reason: `step ${index}`, details: { wave: index, nested: { b: 1, a: [1, 'x'] } } },
        `2025-03-01T00:00:0${index}.000Z`,
      ),
    )
  }
  return entries
}

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: null, y: true }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":true,"z":null}]},"b":1}')
  })
  it('refuses values that have no JSON form', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/)
  })
})

describe('verifyAuditChain', () => {
  const chain = aChain(5)

  it('accepts an untouched chain and reports its head', () => {
    expect(chain[0]?.prevHash).toBe(GENESIS_HASH)
    expect(verifyAuditChain(chain, sha256)).toEqual({ isValid: true, entryCount: 5, head: { seq: 5, hash: chain[4]?.hash } })
    expect(verifyAuditChain([], sha256)).toEqual({ isValid: true, entryCount: 0, head: null })
  })

  const tamperings: Array<[string, (entries: AuditEntry[]) => AuditEntry[], string, number]> = [
    ['an edited reason', (entries) => entries.map((entry) => (entry.seq === 3 ? { ...entry, reason: 'nothing to see' } : entry)), 'hash-mismatch', 3],
    ['an edited actor', (entries) => entries.map((entry) => (entry.seq === 2 ? { ...entry, actor: 'mallory' } : entry)), 'hash-mismatch', 2],
    ['edited details', (entries) => entries.map((entry) => (entry.seq === 4 ? { ...entry, details: { wave: 99 } } : entry)), 'hash-mismatch', 4],
    ['an edited entry with its hash recomputed', (entries) => entries.map((entry) => (entry.seq === 2 ? rehashed({ ...entry, reason: 'forged' }) : entry)), 'broken-link', 3],
    ['a deleted entry', (entries) => entries.filter((entry) => entry.seq !== 3), 'sequence-gap', 4],
    ['a deleted entry with seqs renumbered', (entries) => entries.filter((entry) => entry.seq !== 3).map((entry, index) => ({ ...entry, seq: index + 1 })), 'broken-link', 3],
    ['two entries swapped', (entries) => [entries[0], entries[2], entries[1], entries[3], entries[4]] as AuditEntry[], 'sequence-gap', 3],
    ['a deleted first entry', (entries) => entries.slice(1), 'sequence-gap', 2],
  ]
  it.each(tamperings)('detects %s', (_name, tamper, problem, seq) => {
    const result = verifyAuditChain(tamper(chain), sha256)
    expect(result).toMatchObject({ isValid: false, problem, seq })
  })

  it('detects entries cut from the end against a recorded head', () => {
    const head = { seq: 5, hash: chain[4]?.hash ?? '' }
    expect(verifyAuditChain(chain.slice(0, 4), sha256)).toMatchObject({ isValid: true })
    expect(verifyAuditChain(chain.slice(0, 4), sha256, head)).toMatchObject({ isValid: false, problem: 'head-mismatch' })
    expect(verifyAuditChain(chain, sha256, head)).toMatchObject({ isValid: true })
    expect(verifyAuditChain(aChain(7), sha256, { seq: 5, hash: 'f'.repeat(64) })).toMatchObject({ isValid: false, problem: 'head-mismatch' })
  })
})

function rehashed(entry: AuditEntry): AuditEntry {
  return buildAuditEntry(sha256, entry.seq === 1 ? null : { seq: entry.seq - 1, hash: entry.prevHash }, entry, entry.at)
}
