import { describe, expect, it } from 'vitest'
import { readFixtureModel } from '../testSupport/controlCenterHarness.ts'
import { createOnnxModelRuntime, probeExecutionProviders } from './onnxRuntime.ts'
import { buildProbeModel } from './probeModel.ts'

describe('onnxRuntime adapter', () => {
  it('probes by creating sessions: cpu loads, and the result is cached per process', async () => {
    const probes = await probeExecutionProviders()
    expect(probes).toContainEqual({ name: 'cpu', isAvailable: true })
    for (const probe of probes.filter((entry) => !entry.isAvailable)) expect(probe.reason?.length).toBeGreaterThan(0)
    expect(await probeExecutionProviders()).toBe(probes)
  })

  it('loads the hand-encoded probe model and runs Relu on it', async () => {
    const model = await createOnnxModelRuntime().load(buildProbeModel(), ['cpu'])
    const outputs = await model.run({ x: { elementType: 'float32', dims: [1, 4], data: Float32Array.from([-1, 0, 1, 2]) } })
    expect(Array.from(outputs.y?.data as Float32Array)).toEqual([0, 0, 1, 2])
    await model.close()
  })

  it('loads the fixture classifier with its metadata and returns probabilities', async () => {
    const model = await createOnnxModelRuntime({ intraOpNumThreads: 1 }).load(readFixtureModel(), ['cpu'])
    expect(model.executionProvider).toBe('cpu')
    expect(model.inputs).toEqual([{ name: 'features', elementType: 'float32', shape: ['batch', 16] }])
    const outputs = await model.run({ features: { elementType: 'float32', dims: [3, 16], data: new Float32Array(48).fill(0.1) } })
    const probabilities = Array.from(outputs.probabilities?.data as Float32Array)
    expect(outputs.probabilities?.dims).toEqual([3, 4])
    expect(probabilities.slice(0, 4).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 5)
    await expect(model.run({ features: { elementType: 'float32', dims: [1, 3], data: new Float32Array(3) } })).rejects.toMatchObject({
      code: 'inference-failed',
    })
    await model.close()
  })

  it('fails with model-load-failed when no provider accepts the bytes', async () => {
    await expect(createOnnxModelRuntime().load(new TextEncoder().encode('not a model'), ['cpu'])).rejects.toMatchObject({ code: 'model-load-failed' })
  })
})
