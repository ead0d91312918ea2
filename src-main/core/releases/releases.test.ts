import { describe, expect, it } from 'vitest'
import { cardOutputSha256, readModelCard } from './modelCard.ts'
import { counterFromVersion } from './releaseCounter.ts'

describe('counterFromVersion', () => {
  it.each([
    ['1.2.3', 1_002_003],
    ['2.3', 2_003_000],
    ['7', 7_000_000],
    ['0.0.1', 1],
    ['10.999.999', 10_999_999],
  ])('%s → %d', (version, counter) => {
    expect(counterFromVersion(version)).toEqual({ ok: true, counter })
  })

  it('orders versions the way people read them', () => {
    const counters = ['0.9.9', '0.10.0', '1.0.0', '1.0.10', '1.2.0', '2.0.0'].map((version) => {
      const result = counterFromVersion(version)
      return result.ok ? result.counter : -1
    })
    expect([...counters].sort((a, b) => a - b)).toEqual(counters)
    expect(new Set(counters).size).toBe(counters.length)
  })

  it.each(['1.2.3-rc1', '1.1000.0', '1.2.3.4', '0.0.0', 'v1', '', '99999999.0.0'])('refuses %j', (version) => {
    expect(counterFromVersion(version).ok).toBe(false)
  })
})

describe('readModelCard', () => {
  const card = {
    cardVersion: 1,
    tool: { name: 'outpost', version: '0.4.0' },
    source: { sha256: 'ab'.repeat(32), fileName: 'vad-fp32.onnx', name: null },
    output: { sha256: 'cd'.repeat(32) },
    recipe: 'int8-dynamic',
    metrics: { sizeRatio: 0.27, durationMs: 120 },
    evaluation: { isReleaseReady: false, reasons: ['Top-1 agreement is 91.00%.'], metrics: { top1Agreement: 0.91, accuracyDrop: null } },
  }

  it('reads lineage and the gate verdict of a packaging card', () => {
    expect(readModelCard(JSON.stringify(card)).lineage).toEqual({
      sourceSha256: 'ab'.repeat(32),
      sourceName: 'vad-fp32.onnx',
      recipe: 'int8-dynamic',
      toolVersion: '0.4.0',
      isReleaseReady: false,
      readinessReasons: ['Top-1 agreement is 91.00%.'],
      metrics: [
        { name: 'sizeRatio', value: 0.27 },
        { name: 'durationMs', value: 120 },
        { name: 'evaluation.top1Agreement', value: 0.91 },
      ],
    })
    expect(cardOutputSha256(JSON.stringify(card))).toBe('cd'.repeat(32))
  })

  it('finds a releaseReadiness object at the top level or one level down', () => {
    expect(readModelCard(JSON.stringify({ releaseReadiness: { isReleaseReady: false, reasons: ['r'] } })).lineage?.isReleaseReady).toBe(false)
    expect(readModelCard(JSON.stringify({ gate: { releaseReadiness: { isReleaseReady: true, reasons: [] } } })).lineage?.isReleaseReady).toBe(true)
    expect(readModelCard(JSON.stringify({ name: 'no verdict' })).lineage?.isReleaseReady).toBeNull()
  })

  it('gives no lineage for Markdown, JSON that is not an object, or no card', () => {
    expect(readModelCard('# tiny\nA classifier.').lineage).toBeNull()
    expect(readModelCard('[1, 2]').lineage).toBeNull()
    expect(readModelCard(null).lineage).toBeNull()
    expect(cardOutputSha256('# tiny')).toBeNull()
  })
})
