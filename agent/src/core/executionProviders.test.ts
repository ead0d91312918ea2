import { describe, expect, it } from 'vitest'
import { describeFallback, parseProviderList, planExecutionProviders } from './executionProviders.ts'

const cpuOnly = [{ name: 'cpu', isAvailable: true }]
const withCuda = [
  { name: 'cuda', isAvailable: true },
  { name: 'tensorrt', isAvailable: false, reason: 'libnvinfer.so.10 missing' },
  { name: 'cpu', isAvailable: true },
]

describe('planExecutionProviders', () => {
  it.each([
    ['the default order on a CPU machine, without noise about absent providers', {}, cpuOnly, ['cpu'], []],
    ['the default order where CUDA loads', {}, withCuda, ['cuda', 'cpu'], []],
    ['the release order', { releaseOrder: ['tensorrt', 'cuda'] }, withCuda, ['cuda', 'cpu'], ['tensorrt: libnvinfer.so.10 missing']],
    ['the device order over the release order', { deviceOrder: ['cpu'], releaseOrder: ['cuda'] }, withCuda, ['cpu'], []],
    ['a provider this build lacks', { deviceOrder: ['coreml', 'CUDA'] }, withCuda, ['cuda', 'cpu'], ['coreml: not built into this onnxruntime']],
    ['an empty device order as no order', { deviceOrder: [] }, withCuda, ['cuda', 'cpu'], []],
  ])('uses %s', (_name, order, probes, providers, skipped) => {
    expect(planExecutionProviders({ ...order, probes })).toEqual({ providers, skipped })
  })

  it('explains a fallback from skipped providers and failed session creations', () => {
    const plan = planExecutionProviders({ releaseOrder: ['tensorrt', 'cuda'], probes: withCuda })
    expect(describeFallback(plan, ['cuda: CUDA failure 100: no CUDA-capable device'])).toBe(
      'tensorrt: libnvinfer.so.10 missing; cuda: CUDA failure 100: no CUDA-capable device',
    )
    expect(describeFallback(planExecutionProviders({ probes: cpuOnly }), [])).toBeNull()
  })

  it('parses a comma-separated list', () => {
    expect(parseProviderList(' CUDA, cpu ,')).toEqual(['cuda', 'cpu'])
    expect(parseProviderList(',')).toBeUndefined()
    expect(parseProviderList(undefined)).toBeUndefined()
  })
})
