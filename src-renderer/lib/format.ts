import type { LatencySummary } from '../../src-shared/domain/device.ts'
import type { TensorInfo } from '../../src-shared/domain/model.ts'

export const EMPTY_CELL = '—'

export function formatMs(valueMs: number): string {
  return `${valueMs.toFixed(2)} ms`
}

/** The fleet table's latency cell: `p50 1.23 ms · p95 2.34 ms`; a window without requests has no quantiles to show. */
export function formatLatency(latency: LatencySummary | null): string {
  if (latency === null || latency.requestCount === 0) return EMPTY_CELL
  return `p50 ${formatMs(latency.p50Ms)} · p95 ${formatMs(latency.p95Ms)}`
}

const byteUnits = ['KiB', 'MiB', 'GiB', 'TiB'] as const

export function formatBytes(sizeBytes: number): string {
  if (sizeBytes < 1024) return `${sizeBytes} B`
  let value = sizeBytes
  let unit: string = 'B'
  for (const next of byteUnits) {
    if (value < 1024) break
    value /= 1024
    unit = next
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${unit}`
}

/** '12 s ago', '5 min ago'; instants are ISO strings on the wire, `nowMs` comes from the caller's clock. */
export function formatRelative(at: string | null, nowMs: number): string {
  if (at === null) return EMPTY_CELL
  const atMs = Date.parse(at)
  if (Number.isNaN(atMs)) return EMPTY_CELL
  const seconds = Math.floor((nowMs - atMs) / 1000)
  if (seconds < 5) return 'just now'
  if (seconds < 60) return `${seconds} s ago`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours} h ago`
  return `${Math.floor(hours / 24)} d ago`
}

/** 'features float32 [N, 16]': unknown dimensions print as '?'. */
export function formatTensor(tensor: TensorInfo): string {
  const shape = tensor.shape.map((dimension) => (dimension === null ? '?' : String(dimension))).join(', ')
  return `${tensor.name} ${tensor.elementType} [${shape}]`
}

export function shortSha256(sha256: string): string {
  return sha256.slice(0, 12)
}

export function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`
}
