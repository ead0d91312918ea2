import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { silentLogger } from '../../../src-shared/log.ts'
import type { TensorValue } from '../core/tensorValue.ts'
import type { InferenceService } from '../ports/inferenceService.ts'
import type { LoadedModel } from '../ports/modelRuntime.ts'
import { readFixtureModel } from '../testSupport/controlCenterHarness.ts'
import { makeTempDir } from '../testSupport/testAgent.ts'
import { type InferenceHttpServer, startInferenceHttp } from './inferenceHttp.ts'
import { createOnnxModelRuntime } from './onnxRuntime.ts'

const SHA = 'f'.repeat(64)
const FEATURES = Array.from({ length: 32 }, (_, i) => Math.cos(i) / 2)

/** The fixture in a real onnxruntime session behind the service port, as AgentRuntime serves it. */
function serviceOver(model: LoadedModel | null): InferenceService & { calls: number } {
  const checkName = (name: string | undefined) => {
    if (name !== undefined && name !== 'active' && name !== 'tiny-classifier') throw new AppError('not-found', `No model ${name}`)
  }
  return {
    deviceId: 'd-api',
    calls: 0,
    async infer(feeds: Record<string, TensorValue>, modelName?: string) {
      if (model === null) throw new AppError('unavailable', 'No model')
      checkName(modelName)
      this.calls += 1
      const outputs = await model.run(feeds)
      return { outputs, latencyMs: 0.5, modelName: 'tiny-classifier', modelVersion: '1', modelSha256: SHA, executionProvider: model.executionProvider }
    },
    describeModel(modelName: string) {
      if (model === null) return null
      checkName(modelName)
      return {
        name: 'tiny-classifier',
        version: '1',
        sha256: SHA,
        modelId: 'm-0123456789ab',
        inputs: model.inputs,
        outputs: model.outputs,
        executionProvider: model.executionProvider,
        executionProviderFallback: null,
        isOnTrial: false,
      }
    },
    health: () => ({ isServing: model !== null, installState: 'committed', isConnected: true }),
  }
}

describe('local inference API over HTTP', () => {
  let model: LoadedModel
  let api: InferenceHttpServer
  let service: ReturnType<typeof serviceOver>

  beforeAll(async () => {
    model = await createOnnxModelRuntime({ intraOpNumThreads: 1 }).load(readFixtureModel(), ['cpu'])
    service = serviceOver(model)
    api = await startInferenceHttp({ service, listen: { port: 0 }, log: silentLogger, maxBodyBytes: 4096 })
  })

  afterAll(async () => {
    await api.close()
    await model.close()
  })

  const post = (path: string, body: string | Uint8Array, headers: Record<string, string>) => fetch(`${api.url}${path}`, { method: 'POST', headers, body })

  it('answers health and metadata for the model name or "active"', async () => {
    const health = await fetch(`${api.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok', deviceId: 'd-api', installState: 'committed', isConnected: true })
    for (const name of ['active', 'tiny-classifier']) {
      const metadata = await fetch(`${api.url}/v1/models/${name}`)
      expect(metadata.status).toBe(200)
      expect(await metadata.json()).toMatchObject({
        name: 'tiny-classifier',
        sha256: SHA,
        executionProvider: 'cpu',
        inputs: [{ name: 'features', elementType: 'float32', shape: ['batch', 16] }],
        outputs: [{ name: 'probabilities', elementType: 'float32', shape: ['batch', 4] }],
      })
    }
  })

  it('runs JSON tensors and returns the same outputs as a direct session run', async () => {
    const response = await post('/v1/models/active/infer', JSON.stringify({ inputs: { features: { type: 'float32', dims: [2, 16], data: FEATURES } } }), {
      'content-type': 'application/json',
    })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { model: { sha256: string }; executionProvider: string; outputs: Record<string, { type: string; dims: number[]; data: number[] }> }
    const direct = await model.run({ features: { elementType: 'float32', dims: [2, 16], data: Float32Array.from(FEATURES) } })
    expect(body).toMatchObject({ model: { sha256: SHA }, executionProvider: 'cpu' })
    expect(body.outputs.probabilities).toEqual({ type: 'float32', dims: [2, 4], data: Array.from(direct.probabilities?.data as Float32Array) })
    expect(response.headers.get('x-outpost-model-sha256')).toBe(SHA)
  })

  it('runs a binary tensor and answers in JSON or in raw bytes', async () => {
    const input = Float32Array.from(FEATURES.slice(0, 16))
    const bytes = new Uint8Array(input.buffer)
    const headers = { 'content-type': 'application/octet-stream', 'x-outpost-dims': '1,16' }
    const asJson = await post('/v1/models/tiny-classifier/infer', bytes, headers)
    expect(asJson.status).toBe(200)
    const json = (await asJson.json()) as { outputs: { probabilities: { data: number[] } } }
    const raw = await post('/v1/models/active/infer', bytes, { ...headers, accept: 'application/octet-stream', 'x-outpost-input': 'features' })
    expect(raw.status).toBe(200)
    expect(raw.headers.get('content-type')).toBe('application/octet-stream')
    expect(raw.headers.get('x-outpost-dims')).toBe('1,4')
    expect(raw.headers.get('x-outpost-output')).toBe('probabilities')
    const probabilities = new Float32Array(await raw.arrayBuffer())
    expect(Array.from(probabilities)).toEqual(json.outputs.probabilities.data)
    expect(probabilities.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 5)
  })

  const json = { 'content-type': 'application/json' }
  it.each<[string, string, RequestInit, number, string]>([
    ['another model name', '/v1/models/other', {}, 404, 'not-found'],
    ['an unknown path', '/v2/things', {}, 404, 'not-found'],
    ['GET on infer', '/v1/models/active/infer', {}, 400, 'invalid-input'],
    ['malformed JSON', '/v1/models/active/infer', { method: 'POST', headers: json, body: '{"inputs":' }, 400, 'invalid-input'],
    ['a wrong value count', '/v1/models/active/infer', { method: 'POST', headers: json, body: '{"inputs":{"features":{"dims":[1,16],"data":[1]}}}' }, 400, 'invalid-input'],
    ['a wrong shape for the model', '/v1/models/active/infer', { method: 'POST', headers: json, body: '{"inputs":{"features":{"dims":[1,2],"data":[1,2]}}}' }, 422, 'inference-failed'],
    ['binary without dims', '/v1/models/active/infer', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(64) }, 400, 'invalid-input'],
    ['an unsupported content type', '/v1/models/active/infer', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }, 415, 'model-unsupported'],
    ['a body over the cap', '/v1/models/active/infer', { method: 'POST', headers: json, body: JSON.stringify({ inputs: { features: { dims: [1, 16], data: new Array(3000).fill(0) } } }) }, 413, 'message-too-large'],
  ])('refuses %s with its HTTP status and a JSON error', async (_name, path, init, status, code) => {
    const callsBefore = service.calls
    const response = await fetch(`${api.url}${path}`, init)
    expect(response.status).toBe(status)
    expect(await response.json()).toMatchObject({ code, message: expect.any(String) })
    if (code !== 'inference-failed') expect(service.calls).toBe(callsBefore)
  })

  it('answers 503 while no model is served, and serves on a Unix socket', async () => {
    const dir = await makeTempDir('outpost-api-socket-')
    const socketPath = join(dir.path, 'agent.sock')
    const empty = await startInferenceHttp({ service: serviceOver(null), listen: { socketPath }, log: silentLogger })
    try {
      const get = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const call = request({ socketPath, path }, (response) => {
            let body = ''
            response.on('data', (chunk: Buffer) => (body += chunk.toString()))
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
          })
          call.on('error', reject)
          call.end()
        })
      expect(empty.url).toBe(`unix:${socketPath}`)
      expect(await get('/healthz')).toMatchObject({ status: 503 })
      const metadata = await get('/v1/models/active')
      expect(metadata.status).toBe(503)
      expect(JSON.parse(metadata.body)).toMatchObject({ code: 'unavailable' })
    } finally {
      await empty.close()
      await dir.remove()
    }
  })

  it('refuses a port that is taken with port-in-use', async () => {
    await expect(startInferenceHttp({ service, listen: { port: api.port ?? 0 }, log: silentLogger })).rejects.toMatchObject({ code: 'port-in-use' })
  })
})
