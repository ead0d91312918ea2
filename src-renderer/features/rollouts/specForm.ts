/** The rollout wizard's form: plain strings as typed, turned into a rollout definition (or a sentence saying what is wrong). */
import type { MaintenanceWindow, RolloutSpecInput, WaveSpec } from '../../../src-shared/domain/rollout.ts'

export interface VariantRow {
  name: string
  modelId: string
  /** Comma-separated execution providers the variant needs (any of), e.g. "cuda". Empty: any device. */
  executionProviders: string
}

export interface RolloutForm {
  name: string
  reason: string
  variants: VariantRow[]
  targetMode: 'all' | 'devices'
  deviceIds: string[]
  arch: string
  executionProviders: string
  minMemoryMb: string
  tags: string
  groups: string
  /** Cumulative percentages with optional minimums: "1:5, 10, 50, 100". */
  waves: string
  soakMinutes: string
  requireApproval: boolean
  maxFailurePercent: string
  maxLatencyRatio: string
  onBreach: 'halt' | 'halt-and-rollback'
  maxPerMinute: string
  ramp: boolean
  /** "HH:MM-HH:MM" in UTC, or empty. */
  window: string
}

export function defaultRolloutForm(modelId: string): RolloutForm {
  return {
    name: '',
    reason: '',
    variants: [{ name: 'default', modelId, executionProviders: '' }],
    targetMode: 'all',
    deviceIds: [],
    arch: '',
    executionProviders: '',
    minMemoryMb: '',
    tags: '',
    groups: '',
    waves: '1:5, 10, 50, 100',
    soakMinutes: '30',
    requireApproval: false,
    maxFailurePercent: '5',
    maxLatencyRatio: '1.2',
    onBreach: 'halt-and-rollback',
    maxPerMinute: '',
    ramp: false,
    window: '',
  }
}

const list = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')

export function parseWaveList(text: string): Array<Pick<WaveSpec, 'cumulativePercent'> & Partial<Pick<WaveSpec, 'minDevices'>>> | string {
  const waves: Array<Pick<WaveSpec, 'cumulativePercent'> & Partial<Pick<WaveSpec, 'minDevices'>>> = []
  for (const part of list(text)) {
    const match = /^(\d+(?:\.\d+)?)%?(?::(\d+))?$/.exec(part)
    if (!match) return `Waves: '${part}' is not PERCENT or PERCENT:MIN_DEVICES`
    const cumulativePercent = Number(match[1])
    if (cumulativePercent <= 0 || cumulativePercent > 100) return `Waves: ${cumulativePercent}% is not between 0 and 100`
    const previous = waves.at(-1)
    if (previous && cumulativePercent <= previous.cumulativePercent) return 'Waves are cumulative: each must reach more than the one before'
    waves.push({ cumulativePercent, ...(match[2] === undefined ? {} : { minDevices: Number(match[2]) }) })
  }
  if (waves.at(-1)?.cumulativePercent !== 100) return 'The last wave must reach 100%'
  return waves
}

export function parseWindowText(text: string): MaintenanceWindow | string {
  const match = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(text.trim())
  if (!match) return `Maintenance window: '${text}' is not HH:MM-HH:MM`
  const start = Number(match[1]) * 60 + Number(match[2])
  const end = Number(match[3]) * 60 + Number(match[4])
  if (start > 1439 || end > 1440) return `Maintenance window: '${text}' is not a time of day`
  return { daysUtc: [], startMinuteUtc: start, endMinuteUtc: end }
}

function optionalNumber(text: string, label: string, min: number, max: number): number | undefined | string {
  if (text.trim() === '') return undefined
  const value = Number(text)
  if (!Number.isFinite(value) || value < min || value > max) return `${label} must be a number from ${min} to ${max}`
  return value
}

/** The definition to send, or a sentence about the first field that is wrong. */
export function specFromForm(form: RolloutForm): RolloutSpecInput | string {
  const variants = form.variants.filter((variant) => variant.modelId !== '')
  if (variants.length === 0) return 'Pick the model to roll out'
  const names = new Set<string>()
  for (const variant of variants) {
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(variant.name)) return `Variant name '${variant.name}' must be 1-32 letters, digits, dots, dashes or underscores`
    if (names.has(variant.name)) return `Two variants are named '${variant.name}'`
    names.add(variant.name)
  }
  if (form.targetMode === 'devices' && form.deviceIds.length === 0) return 'Tick at least one device, or target the whole fleet'
  const waves = parseWaveList(form.waves)
  if (typeof waves === 'string') return waves
  const soakMinutes = optionalNumber(form.soakMinutes, 'Soak minutes', 0, 7 * 24 * 60)
  const minMemoryMb = optionalNumber(form.minMemoryMb, 'Minimum memory', 1, 10_000_000)
  const maxFailurePercent = optionalNumber(form.maxFailurePercent, 'Install-failure threshold', 0, 100)
  const maxLatencyRatio = optionalNumber(form.maxLatencyRatio, 'Latency threshold', 1, 100)
  const maxPerMinute = optionalNumber(form.maxPerMinute, 'Devices per minute', 1, 100_000)
  for (const value of [soakMinutes, minMemoryMb, maxFailurePercent, maxLatencyRatio, maxPerMinute]) if (typeof value === 'string') return value
  const window = form.window.trim() === '' ? undefined : parseWindowText(form.window)
  if (typeof window === 'string') return window
  const asNumber = (value: number | string | undefined) => (typeof value === 'number' ? value : undefined)
  const soak = asNumber(soakMinutes)
  const memory = asNumber(minMemoryMb)
  const failure = asNumber(maxFailurePercent)
  const latency = asNumber(maxLatencyRatio)
  const rate = asNumber(maxPerMinute)
  return {
    ...(form.name.trim() === '' ? {} : { name: form.name.trim() }),
    release: {
      variants: variants.map((variant) => ({
        name: variant.name,
        modelId: variant.modelId,
        requirements: { executionProviders: list(variant.executionProviders) },
      })),
    },
    target: {
      deviceIds: form.targetMode === 'devices' ? form.deviceIds : [],
      tags: list(form.tags),
      groups: list(form.groups),
      arch: list(form.arch),
      executionProviders: list(form.executionProviders),
      minMemoryBytes: memory === undefined ? null : Math.round(memory * 1024 * 1024),
    },
    waves,
    ...(soak === undefined ? {} : { soakMs: Math.round(soak * 60_000) }),
    requireApproval: form.requireApproval,
    gates: {
      ...(failure === undefined ? {} : { maxInstallFailureRatio: failure / 100 }),
      ...(latency === undefined ? {} : { maxLatencyRatio: latency }),
    },
    rate: { maxPerMinute: rate === undefined ? null : Math.round(rate), ramp: form.ramp ? { basePerMinute: 10, factor: 2, successesPerStep: 20 } : null },
    ...(window === undefined ? {} : { maintenanceWindows: [window] }),
    onBreach: form.onBreach,
  }
}
