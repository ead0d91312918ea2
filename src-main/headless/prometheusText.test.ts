import { describe, expect, it } from 'vitest'
import { formatPrometheusText } from './prometheusText.ts'

describe('formatPrometheusText', () => {
  it('writes HELP, TYPE and one line per sample with labels', () => {
    const text = formatPrometheusText([
      {
        name: 'outpost_telemetry_windows_total',
        help: 'Telemetry windows stored',
        type: 'counter',
        samples: [
          { labels: {}, value: 12 },
          { labels: { reason: 'duplicate' }, value: 3 },
        ],
      },
    ])
    expect(text).toBe(
      [
        '# HELP outpost_telemetry_windows_total Telemetry windows stored',
        '# TYPE outpost_telemetry_windows_total counter',
        'outpost_telemetry_windows_total 12',
        'outpost_telemetry_windows_total{reason="duplicate"} 3',
        '',
      ].join('\n'),
    )
  })

  it('escapes label values and help text, and spells special numbers the Prometheus way', () => {
    const text = formatPrometheusText([
      { name: 'm', help: 'line\\one\ntwo', type: 'gauge', samples: [{ labels: { id: 'a"b\\c\nd' }, value: Infinity }, { labels: {}, value: NaN }] },
    ])
    expect(text).toContain('# HELP m line\\\\one\\ntwo')
    expect(text).toContain('m{id="a\\"b\\\\c\\nd"} +Inf')
    expect(text).toContain('m NaN')
  })

  it('skips metric and label names Prometheus would reject instead of emitting a broken scrape', () => {
    const text = formatPrometheusText([
      { name: 'bad name', help: 'x', type: 'gauge', samples: [{ labels: {}, value: 1 }] },
      { name: 'good', help: 'x', type: 'gauge', samples: [{ labels: { 'bad-label': 'v', ok: 'w' }, value: 1 }] },
    ])
    expect(text).not.toContain('bad name')
    expect(text).toContain('good{ok="w"} 1')
  })
})
