/**
 * Plans a rollout against a fleet snapshot: which devices the target selects, which variant each can load
 * (checked before anything is downloaded), and which wave each device belongs to. Pure.
 */
import type {
  ArtifactPin,
  RolloutDevice,
  RolloutTarget,
  RolloutVariant,
  VariantRequirements,
  WaveSpec,
  WaveState,
} from '../../../src-shared/domain/rollout.ts'

/** A device as the planner needs it; the service builds these from device records. */
export interface FleetDevice {
  deviceId: string
  tags: readonly string[]
  groups: readonly string[]
  isOnline: boolean
  /** Null until the agent has reported its hardware (its first sync). */
  hardware: { arch: string; memoryBytes: number; accelerators: readonly string[] } | null
  /** Execution providers that actually loaded on the device. */
  executionProviders: readonly string[]
  active: ArtifactPin | null
}

/** A variant with the sha256 of its artifact, resolved by the service. */
export interface ResolvedVariant extends RolloutVariant {
  sha256: string
}

export interface PlanInput {
  variants: readonly ResolvedVariant[]
  target: RolloutTarget
  waves: readonly WaveSpec[]
}

export interface RolloutPlan {
  /** Every targeted device: planned in a wave, committed already, or skipped as incompatible. */
  devices: RolloutDevice[]
  /** Only waves that add devices; a 10 % wave that the canary already covers is dropped. */
  waves: WaveState[]
  targetedCount: number
  /** Fleet devices the target did not select. */
  excludedCount: number
  plannedAt: string
}

const hasHardwareCriteria = (target: RolloutTarget) =>
  target.arch.length > 0 || target.executionProviders.length > 0 || target.minMemoryBytes !== null

/** Does the target select this device? Tags are all-of; every other list is any-of; empty criteria match all. */
export function matchesTarget(device: FleetDevice, target: RolloutTarget): boolean {
  if (target.deviceIds.length > 0 && !target.deviceIds.includes(device.deviceId)) return false
  if (!target.tags.every((tag) => device.tags.includes(tag))) return false
  if (target.groups.length > 0 && !target.groups.some((group) => device.groups.includes(group))) return false
  if (!hasHardwareCriteria(target)) return true
  const hardware = device.hardware
  if (hardware === null) return false
  if (target.arch.length > 0 && !target.arch.includes(hardware.arch)) return false
  if (target.executionProviders.length > 0 && !target.executionProviders.some((name) => device.executionProviders.includes(name))) return false
  return target.minMemoryBytes === null || hardware.memoryBytes >= target.minMemoryBytes
}

/** Why a device cannot load a variant, or null when it can. */
export function unmetRequirement(device: FleetDevice, requirements: VariantRequirements): string | null {
  const hardware = device.hardware
  if (hardware === null) return 'the device has not reported its hardware yet'
  if (requirements.arch.length > 0 && !requirements.arch.includes(hardware.arch)) {
    return `arch ${hardware.arch} is not one of ${requirements.arch.join(', ')}`
  }
  if (requirements.executionProviders.length > 0 && !requirements.executionProviders.some((name) => device.executionProviders.includes(name))) {
    return `none of the execution providers ${requirements.executionProviders.join(', ')} loads (has ${device.executionProviders.join(', ') || 'none'})`
  }
  if (requirements.minMemoryBytes !== null && hardware.memoryBytes < requirements.minMemoryBytes) {
    return `${hardware.memoryBytes} bytes of memory < ${requirements.minMemoryBytes} required`
  }
  if (
    requirements.accelerators.length > 0 &&
    !requirements.accelerators.some((prefix) => hardware.accelerators.some((accelerator) => accelerator.startsWith(prefix)))
  ) {
    return `no accelerator matching ${requirements.accelerators.join(', ')}`
  }
  return null
}

/** The first variant whose requirements the device's reported capabilities satisfy (release order is preference order). */
export function selectVariant<V extends RolloutVariant>(device: FleetDevice, variants: readonly V[]): { variant: V } | { reason: string } {
  const reasons: string[] = []
  for (const variant of variants) {
    const unmet = unmetRequirement(device, variant.requirements)
    if (unmet === null) return { variant }
    reasons.push(`${variant.name}: ${unmet}`)
  }
  return { reason: `no variant fits (${reasons.join('; ')})`.slice(0, 300) }
}

/**
 * Cumulative device counts per wave: ceil(percent × n), at least the wave's minimum, never above n, never below the
 * wave before. The last wave always reaches n.
 */
export function cumulativeWaveCounts(deviceCount: number, waves: readonly WaveSpec[]): number[] {
  const counts: number[] = []
  let previous = 0
  waves.forEach((wave, index) => {
    const byPercent = Math.ceil((wave.cumulativePercent / 100) * deviceCount - 1e-9)
    const count = index === waves.length - 1 ? deviceCount : Math.min(deviceCount, Math.max(previous, wave.minDevices, byPercent))
    counts.push(count)
    previous = count
  })
  return counts
}

/** Devices of one class share hardware and variant: the unit for stratified waves and for the control cohort. */
export function hardwareClassOf(device: FleetDevice, variantName: string | null): string {
  return `${device.hardware?.arch ?? 'unknown'}|${variantName ?? '-'}`
}

/**
 * Interleaves the classes so that every wave, the canary first, samples each kind of device in proportion:
 * largest class first, online devices first within a class (they report soonest), then by id.
 */
function stratify(devices: ReadonlyArray<{ device: FleetDevice; hardwareClass: string }>): FleetDevice[] {
  const byClass = new Map<string, FleetDevice[]>()
  for (const { device, hardwareClass } of devices) {
    const members = byClass.get(hardwareClass) ?? []
    members.push(device)
    byClass.set(hardwareClass, members)
  }
  const classes = [...byClass.entries()]
    .map(([key, members]) => ({
      key,
      members: members.sort((a, b) => Number(b.isOnline) - Number(a.isOnline) || compareText(a.deviceId, b.deviceId)),
    }))
    .sort((a, b) => b.members.length - a.members.length || compareText(a.key, b.key))
  const total = devices.length
  const ordered: FleetDevice[] = []
  const taken = classes.map(() => 0)
  // Proportional interleave: at each position pick the class furthest behind its share.
  for (let position = 0; position < total; position += 1) {
    let best = -1
    let bestDeficit = -Infinity
    classes.forEach((entry, index) => {
      const used = taken[index] ?? 0
      if (used >= entry.members.length) return
      const deficit = ((position + 1) * entry.members.length) / total - used
      if (deficit > bestDeficit + 1e-12) {
        best = index
        bestDeficit = deficit
      }
    })
    const entry = classes[best]
    const device = entry?.members[taken[best] ?? 0]
    if (!entry || !device) break
    ordered.push(device)
    taken[best] = (taken[best] ?? 0) + 1
  }
  return ordered
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

export function emptyDeviceRow(deviceId: string): RolloutDevice {
  return {
    deviceId,
    position: 0,
    wave: null,
    variant: null,
    target: null,
    previous: null,
    hardwareClass: 'unknown|-',
    status: 'planned',
    attempt: 0,
    seqBefore: null,
    seq: null,
    intentAt: null,
    sentAt: null,
    acceptedAt: null,
    settledAt: null,
    errorCode: null,
    note: null,
    isHealthFailure: false,
    baselineP95Ms: null,
    p95Ms: null,
    rollbackAttempt: 0,
    rollbackSeqBefore: null,
    rollbackSeq: null,
    rollbackIntentAt: null,
    rollbackSentAt: null,
  }
}

export function planRollout(fleet: readonly FleetDevice[], input: PlanInput, now: string): RolloutPlan {
  const targeted = fleet.filter((device) => matchesTarget(device, input.target))
  const rows: RolloutDevice[] = []
  const plannable: Array<{ device: FleetDevice; variant: ResolvedVariant; hardwareClass: string }> = []
  for (const device of targeted) {
    const choice = selectVariant(device, input.variants)
    if ('reason' in choice) {
      rows.push({ ...emptyDeviceRow(device.deviceId), status: 'skipped-incompatible', previous: device.active, note: choice.reason, settledAt: now })
      continue
    }
    const { variant } = choice
    const hardwareClass = hardwareClassOf(device, variant.name)
    const target = { modelId: variant.modelId, sha256: variant.sha256 }
    if (device.active?.sha256 === variant.sha256) {
      rows.push({
        ...emptyDeviceRow(device.deviceId),
        variant: variant.name,
        target,
        previous: device.active,
        hardwareClass,
        status: 'committed',
        note: 'already running this release',
        settledAt: now,
      })
      continue
    }
    plannable.push({ device, variant, hardwareClass })
  }

  const ordered = stratify(plannable)
  const byId = new Map(plannable.map((entry) => [entry.device.deviceId, entry]))
  const counts = cumulativeWaveCounts(ordered.length, input.waves)
  const waves: WaveState[] = []
  const waveOfPosition: number[] = []
  let previousCount = 0
  input.waves.forEach((spec, specIndex) => {
    const cumulative = counts[specIndex] ?? previousCount
    if (cumulative <= previousCount) return
    const index = waves.length
    for (let position = previousCount; position < cumulative; position += 1) waveOfPosition[position] = index
    waves.push({
      index,
      spec,
      cumulativeDeviceCount: cumulative,
      deviceCount: cumulative - previousCount,
      status: 'pending',
      startedAt: null,
      settledAt: null,
      approvedAt: null,
      approvedBy: null,
      finishedAt: null,
      decision: null,
    })
    previousCount = cumulative
  })

  ordered.forEach((device, position) => {
    const entry = byId.get(device.deviceId)
    if (!entry) return
    rows.push({
      ...emptyDeviceRow(device.deviceId),
      position,
      wave: waveOfPosition[position] ?? null,
      variant: entry.variant.name,
      target: { modelId: entry.variant.modelId, sha256: entry.variant.sha256 },
      previous: device.active,
      hardwareClass: entry.hardwareClass,
    })
  })
  // Devices outside the waves follow the planned ones, so positions stay unique.
  let nextPosition = ordered.length
  for (const row of rows) if (row.wave === null) row.position = nextPosition++
  rows.sort((a, b) => a.position - b.position)
  return { devices: rows, waves, targetedCount: targeted.length, excludedCount: fleet.length - targeted.length, plannedAt: now }
}
