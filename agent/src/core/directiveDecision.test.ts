import { describe, expect, it } from 'vitest'
import type { Directive } from '../../../src-shared/protocol/messages.ts'
import { decideDirective } from './directiveDecision.ts'

const sha = (digit: string) => digit.repeat(64)

function install(seq: number, deviceId = 'd-1', artifactSha = sha('a')): Directive {
  return {
    v: 1,
    deviceId,
    seq,
    issuedAt: '2026-01-01T00:00:00.000Z',
    action: 'install',
    artifact: {
      modelId: 'm-0123456789ab',
      name: 'tiny',
      version: '1',
      format: 'onnx',
      sha256: artifactSha,
      sizeBytes: 10,
      chunkSizeBytes: 10,
      chunkCount: 1,
      chunkListSha256: sha('c'),
    },
  }
}

const noop = (seq: number): Directive => ({ v: 1, deviceId: 'd-1', seq, issuedAt: '2026-01-01T00:00:00.000Z', action: 'noop' })

describe('decideDirective', () => {
  const context = { selfDeviceId: 'd-1', lastDirectiveSeq: 4 }

  it.each([
    ['another device', install(9, 'd-2'), { verdict: 'reject', reason: 'wrong-device' }],
    ['an already applied seq', install(4), { verdict: 'reject', reason: 'stale-seq' }],
    ['an older seq', install(1), { verdict: 'reject', reason: 'stale-seq' }],
    ['a stale noop', noop(3), { verdict: 'reject', reason: 'stale-seq' }],
    ['a newer noop', noop(5), { verdict: 'accept', action: 'noop' }],
    ['a newer install', install(5), { verdict: 'accept', action: 'install' }],
  ] as const)('handles %s', (_name, directive, expected) => {
    expect(decideDirective(context, directive)).toEqual(expected)
  })

  it('checks the device before the seq, so a forged directive never counts as stale', () => {
    expect(decideDirective(context, install(1, 'd-9'))).toEqual({ verdict: 'reject', reason: 'wrong-device' })
  })
})
