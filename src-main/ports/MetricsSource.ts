/**
 * Counters and gauges a service exposes for `GET /metrics` (Prometheus text exposition). The host formats them;
 * sources only report values. Names follow Prometheus conventions: `outpost_<area>_<what>[_total|_seconds]`.
 */
export interface MetricSample {
  labels: Readonly<Record<string, string>>
  value: number
}

export interface MetricFamily {
  name: string
  help: string
  type: 'counter' | 'gauge'
  samples: MetricSample[]
}

export interface MetricsSource {
  /** A snapshot of every metric; never throws (a failing part reports what it can). */
  collectMetrics(): Promise<MetricFamily[]>
}
