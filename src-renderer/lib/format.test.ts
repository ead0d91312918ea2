import { describe, expect, it } from 'vitest'
import { bytesToBase64 } from './base64.ts'
import { formatBytes, formatLatency, formatRelative, formatTensor, shortSha256 } from './format.ts'

const NOW_MS = Date.parse('2025-01-01T12:00:00.000Z')

describe('formatters', () => {
  it('formats the latency cell as p50 and p95 in milliseconds', () => {
    const latency = { p50Ms: 1.234, p95Ms: 12.5, p99Ms: 20, requestCount: 10, errorCount: 0, windowEndAt: '2025-01-01T12:00:00.000Z' }
    expect(formatLatency(latency)).toBe('p50 1.23 ms · p95 12.50 ms')
    expect(formatLatency(null)).toBe('—')
    expect(formatLatency({ ...latency, p50Ms: 0, p95Ms: 0, requestCount: 0 })).toBe('—')
  })

  it.each([
    ['2025-01-01T11:59:58.000Z', 'just now'],
    ['2025-01-01T11:59:30.000Z', '30 s ago'],
    ['2025-01-01T11:55:00.000Z', '5 min ago'],
    ['2025-01-01T09:00:00.000Z', '3 h ago'],
    ['2024-12-30T12:00:00.000Z', '2 d ago'],
    ['2025-01-01T12:00:09.000Z', 'just now'],
  ])('shows %s as %s', (at, expected) => {
    expect(formatRelative(at, NOW_MS)).toBe(expected)
  })

  it('shows never-seen as a dash', () => {
    expect(formatRelative(null, NOW_MS)).toBe('—')
  })

  it.each([
    [512, '512 B'],
    [2048, '2.0 KiB'],
    [5 * 1024 * 1024, '5.0 MiB'],
    [300 * 1024 * 1024, '300 MiB'],
  ])('formats %d bytes as %s', (sizeBytes, expected) => {
    expect(formatBytes(sizeBytes)).toBe(expected)
  })

  it('formats tensors and short digests', () => {
    expect(formatTensor({ name: 'features', elementType: 'float32', shape: ['N', 16, null] })).toBe('features float32 [N, 16, ?]')
    expect(shortSha256('0123456789abcdef'.repeat(4))).toBe('0123456789ab')
  })
})

describe('bytesToBase64', () => {
  it('matches btoa for small and multi-chunk inputs', () => {
    for (const length of [0, 1, 2, 3, 0x8000, 0x8000 * 2 + 7]) {
      const bytes = Uint8Array.from({ length }, (_, index) => (index * 7 + 3) % 256)
      const expected = btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(''))
      expect(bytesToBase64(bytes)).toBe(expected)
    }
  })
})
