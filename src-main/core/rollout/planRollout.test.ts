import { describe, expect, it } from 'vitest'
import { defaultWaves, normalizeRolloutSpec } from './defaults.ts'
import { cumulativeWaveCounts, matchesTarget, planRollout, selectVariant } from './planRollout.ts'
import { aFleet, aFleetDevice, aSpec, cpuVariant, gpuVariant, NEW_MODEL, NEW_SHA } from './testing/builders.ts'

const now = '2025-03-01T00:00:00.000Z'
const emptyTarget = aSpec().target

describe('cumulativeWaveCounts with the default waves (canary max(5, 1%), 10%, 50%, 100%)', () => {
  it.each([
    [1, [1, 1, 1, 1]],
    [3, [3, 3, 3, 3]],
    [5, [5, 5, 5, 5]],
    [20, [5, 5, 10, 20]],
    [100, [5, 10, 50, 100]],
    [499, [5, 50, 250, 499]],
    [1000, [10, 100, 500, 1000]],
    [10_000, [100, 1000, 5000, 10_000]],
  ])('%i devices -> %j', (deviceCount, expected) => {
    expect(cumulativeWaveCounts(deviceCount, defaultWaves())).toEqual(expected)
  })

  it('honours a wave minimum above its percentage and never shrinks', () => {
    const waves = [
      { cumulativePercent: 2, minDevices: 30, soakMs: 0, requiresApproval: false },
      { cumulativePercent: 20, minDevices: 0, soakMs: 0, requiresApproval: false },
      { cumulativePercent: 100, minDevices: 0, soakMs: 0, requiresApproval: false },
    ]
    expect(cumulativeWaveCounts(100, waves)).toEqual([30, 30, 100])
  })
})

describe('planRollout', () => {
  it('drops waves the canary already covers and numbers the rest', () => {
    const plan = planRollout(aFleet(20), { variants: [cpuVariant], target: emptyTarget, waves: defaultWaves() }, now)
    expect(plan.waves.map((wave) => [wave.index, wave.deviceCount, wave.cumulativeDeviceCount, wave.spec.cumulativePercent])).toEqual([
      [0, 5, 5, 1],
      [1, 5, 10, 50],
      [2, 10, 20, 100],
    ])
    expect(plan.devices.filter((row) => row.wave === 0)).toHaveLength(5)
    expect(new Set(plan.devices.map((row) => row.position)).size).toBe(20)
  })

  it('gives each device the first variant its capabilities satisfy, and skips the rest before any download', () => {
    const fleet = [
      aFleetDevice('gpu-1', { executionProviders: ['cuda', 'cpu'] }),
      aFleetDevice('cpu-1'),
      aFleetDevice('never-synced', { hardware: null, executionProviders: [] }),
    ]
    const plan = planRollout(fleet, { variants: [gpuVariant, { ...cpuVariant, requirements: { ...cpuVariant.requirements, arch: ['x64'] } }], target: emptyTarget, waves: defaultWaves() }, now)
    const byId = new Map(plan.devices.map((row) => [row.deviceId, row]))
    expect(byId.get('gpu-1')?.variant).toBe('fp16')
    expect(byId.get('cpu-1')?.variant).toBe('int8')
    expect(byId.get('never-synced')?.status).toBe('skipped-incompatible')
    expect(byId.get('never-synced')?.note).toMatch(/not reported its hardware/)
    expect(byId.get('never-synced')?.wave).toBeNull()
  })

  it('marks devices already running the release as committed, outside the waves', () => {
    const fleet = [aFleetDevice('d-1', { active: { modelId: NEW_MODEL, sha256: NEW_SHA } }), aFleetDevice('d-2')]
    const plan = planRollout(fleet, { variants: [cpuVariant], target: emptyTarget, waves: defaultWaves() }, now)
    expect(plan.devices.find((row) => row.deviceId === 'd-1')).toMatchObject({ status: 'committed', wave: null, note: 'already running this release' })
    expect(plan.waves.map((wave) => wave.deviceCount)).toEqual([1])
  })

  it('spreads the canary over hardware classes in proportion', () => {
    const fleet = [...aFleet(80, 'x-'), ...aFleet(20, 'a-').map((device) => ({ ...device, hardware: { arch: 'arm64', memoryBytes: 4e9, accelerators: [] } }))]
    const plan = planRollout(fleet, { variants: [cpuVariant], target: emptyTarget, waves: defaultWaves() }, now)
    const canary = plan.devices.filter((row) => row.wave === 0)
    expect(canary).toHaveLength(5)
    expect(canary.filter((row) => row.hardwareClass.startsWith('arm64')).length).toBe(1)
  })

  it('puts online devices first within a class', () => {
    const fleet = [aFleetDevice('d-1', { isOnline: false }), aFleetDevice('d-2'), aFleetDevice('d-3', { isOnline: false })]
    const plan = planRollout(fleet, { variants: [cpuVariant], target: emptyTarget, waves: defaultWaves() }, now)
    expect(plan.devices.map((row) => row.deviceId)).toEqual(['d-2', 'd-1', 'd-3'])
  })
})

describe('matchesTarget', () => {
  const device = aFleetDevice('d-1', { tags: ['site:berlin', 'line-2'], groups: ['pilot'], executionProviders: ['cpu', 'cuda'] })
  it.each([
    ['the whole fleet', {}, true],
    ['an explicit id', { deviceIds: ['d-1'] }, true],
    ['another explicit id', { deviceIds: ['d-2'] }, false],
    ['all of its tags', { tags: ['site:berlin', 'line-2'] }, true],
    ['a tag it lacks', { tags: ['site:berlin', 'line-3'] }, false],
    ['one of its groups', { groups: ['beta', 'pilot'] }, true],
    ['another group', { groups: ['beta'] }, false],
    ['its arch', { arch: ['x64', 'arm64'] }, true],
    ['another arch', { arch: ['arm64'] }, false],
    ['an execution provider it loads', { executionProviders: ['cuda'] }, true],
    ['one it does not', { executionProviders: ['tensorrt'] }, false],
    ['enough memory', { minMemoryBytes: 8 * 1024 ** 3 }, true],
    ['more memory than it has', { minMemoryBytes: 16 * 1024 ** 3 }, false],
  ])('%s', (_name, target, expected) => {
    expect(matchesTarget(device, { ...emptyTarget, ...target })).toBe(expected)
  })

  it('leaves devices of unknown hardware out of hardware-filtered targets', () => {
    expect(matchesTarget(aFleetDevice('d-1', { hardware: null }), { ...emptyTarget, arch: ['x64'] })).toBe(false)
    expect(matchesTarget(aFleetDevice('d-1', { hardware: null }), emptyTarget)).toBe(true)
  })
})

describe('selectVariant', () => {
  it.each([
    ['a CUDA device gets fp16', aFleetDevice('g', { executionProviders: ['cuda', 'cpu'] }), 'fp16'],
    ['a CPU device falls through to int8', aFleetDevice('c'), 'int8'],
  ])('%s', (_name, device, expected) => {
    const choice = selectVariant(device, [gpuVariant, cpuVariant])
    expect('variant' in choice && choice.variant.name).toBe(expected)
  })

  it('explains why no variant fits', () => {
    const choice = selectVariant(aFleetDevice('c', { hardware: { arch: 'x64', memoryBytes: 1024, accelerators: [] } }), [
      gpuVariant,
      { ...cpuVariant, requirements: { ...cpuVariant.requirements, minMemoryBytes: 2048 } },
    ])
    expect('reason' in choice && choice.reason).toMatch(/fp16: none of the execution providers cuda loads.*int8: 1024 bytes of memory < 2048/)
  })

  it('matches accelerators by device-node prefix', () => {
    const variant = { ...cpuVariant, requirements: { ...cpuVariant.requirements, accelerators: ['/dev/apex_'] } }
    expect('variant' in selectVariant(aFleetDevice('t', { hardware: { arch: 'arm64', memoryBytes: 1, accelerators: ['/dev/apex_0'] } }), [variant])).toBe(true)
    expect('variant' in selectVariant(aFleetDevice('t'), [variant])).toBe(false)
  })
})

describe('normalizeRolloutSpec', () => {
  it('fills the documented defaults', () => {
    const spec = normalizeRolloutSpec({ release: { variants: [{ modelId: NEW_MODEL }] } })
    expect(spec.waves.map((wave) => [wave.cumulativePercent, wave.minDevices])).toEqual([[1, 5], [10, 0], [50, 0], [100, 0]])
    expect(spec.waves.every((wave) => wave.soakMs === 30 * 60_000)).toBe(true)
    expect(spec.gates).toMatchObject({ maxInstallFailureRatio: 0.05, minExecutedForFailureRatio: 20, maxTimeoutRatio: 0.1, maxLatencyRatio: 1.2 })
    expect(spec.onBreach).toBe('halt-and-rollback')
    expect(spec.retries).toEqual({ maxFailedRetries: 2, maxTimedOutRetries: 1 })
    expect(spec.release.variants[0]?.name).toBe('default')
  })

  it.each([
    ['waves that shrink', [{ cumulativePercent: 50 }, { cumulativePercent: 10 }, { cumulativePercent: 100 }], /must reach more/],
    ['waves that stop short of 100%', [{ cumulativePercent: 10 }, { cumulativePercent: 60 }], /last wave must reach 100%/],
  ])('refuses %s', (_name, waves, message) => {
    expect(() => normalizeRolloutSpec({ release: { variants: [{ modelId: NEW_MODEL }] }, waves })).toThrow(message)
  })

  it('asks for approval on every wave after the canary when told to', () => {
    const spec = normalizeRolloutSpec({ release: { variants: [{ modelId: NEW_MODEL }] }, requireApproval: true })
    expect(spec.waves.map((wave) => wave.requiresApproval)).toEqual([false, true, true, true])
  })
})
