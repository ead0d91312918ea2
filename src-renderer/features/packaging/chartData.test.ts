import { describe, expect, it } from 'vitest'
import { errorHistogramRows, formatError, formatFraction, formatRatio, latencyDistributionRows, operatorTotals } from './chartData.ts'
import { anInspection } from './packagingBuilders.ts'

describe('packaging chart data', () => {
  it('bins both latency series on one scale and keeps every sample', () => {
    const rows = latencyDistributionRows([1, 2, 3, 4], [1, 1, 4.5, 9], 4)
    expect(rows.map((row) => row.label)).toEqual(['1.000–3.000 ms', '3.000–5.000 ms', '5.000–7.000 ms', '7.000–9.000 ms'])
    expect(rows.map((row) => [row.baseline, row.candidate])).toEqual([
      [2, 2],
      [2, 1],
      [0, 0],
      [0, 1],
    ])
    expect(latencyDistributionRows([], [])).toEqual([])
    expect(latencyDistributionRows([2, 2], [2])).toEqual([{ label: '2.000 ms', baseline: 2, candidate: 1 }])
  })

  it('labels error bins by their bounds', () => {
    expect(
      errorHistogramRows([
        { lowerBound: 0, upperBound: 1e-8, count: 1 },
        { lowerBound: 1e-8, upperBound: 3.2e-8, count: 2 },
        { lowerBound: 10, upperBound: null, count: 3 },
      ]),
    ).toEqual([
      { label: '<1e-8', count: 1 },
      { label: '1e-8–3e-8', count: 2 },
      { label: '≥1e1', count: 3 },
    ])
  })

  it('sums operators over graphs and names custom domains', () => {
    const totals = operatorTotals(
      anInspection({
        opHistogram: [
          { opType: 'Conv', domain: '', path: 'main', count: 3 },
          { opType: 'Conv', domain: '', path: 'main/If_0.then_branch', count: 4 },
          { opType: 'Gelu', domain: 'custom', path: 'main', count: 5 },
          { opType: 'Relu', domain: '', path: 'main', count: 1 },
        ],
      }),
      2,
    )
    expect(totals).toEqual([
      { opType: 'Conv', count: 7 },
      { opType: 'custom.Gelu', count: 5 },
    ])
  })

  it('formats ratios, fractions and errors', () => {
    expect(formatRatio(0.41234)).toBe('0.412×')
    expect(formatFraction(0.99614)).toBe('99.61%')
    expect(formatFraction(null)).toBe('—')
    expect(formatError(0.000012345)).toBe('1.23e-5')
    expect(formatError(0.0123456)).toBe('0.01235')
    expect(formatError(0)).toBe('0')
  })
})
