/**
 * Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
 * `# HELP`, `# TYPE`, then one `name{label="value"} number` line per sample.
 */
import type { MetricFamily } from '../ports/MetricsSource.ts'

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** HELP text escapes backslash and newline; label values also escape the double quote (spec "Text format details"). */
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const escapeLabelValue = (text: string) => escapeHelp(text).replace(/"/g, '\\"')

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

/** Formats metric families; families or labels with names Prometheus would reject are skipped, not emitted broken. */
export function formatPrometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = []
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) continue
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`)
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels).filter(([name]) => LABEL_NAME.test(name))
      const labelText = labels.length === 0 ? '' : `{${labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`
      lines.push(`${family.name}${labelText} ${formatValue(sample.value)}`)
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}
