/** Plain-text output helpers: aligned columns with a header row, and the cells commands share. */

export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/** Label and value pairs, one per line, values aligned. */
export function formatPairs(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...pairs.map(([label]) => label.length))
  return pairs.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')
}

/** A millisecond figure with precision that suits its size: 0.42, 3.1, 27. */
export function formatMs(valueMs: number | undefined): string {
  if (valueMs === undefined) return '-'
  if (valueMs < 1) return valueMs.toFixed(2)
  if (valueMs < 10) return valueMs.toFixed(1)
  return valueMs.toFixed(0)
}

/** An ISO instant shortened to the second, in UTC: 2025-06-01 14:03:07Z. */
export function formatInstant(instant: string | null | undefined): string {
  if (!instant) return '-'
  return instant.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
}

export function formatBytes(sizeBytes: number): string {
  if (sizeBytes < 1024) return `${sizeBytes} B`
  if (sizeBytes < 1024 * 1024) return `${(sizeBytes / 1024).toFixed(1)} KiB`
  return `${(sizeBytes / (1024 * 1024)).toFixed(1)} MiB`
}
