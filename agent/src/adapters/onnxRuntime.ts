/** ModelRuntime over onnxruntime-node. Execution providers are probed by creating real sessions, never assumed. */
import * as ort from 'onnxruntime-node'
import type { ExecutionProviderProbe } from '../../../src-shared/domain/device.ts'
import type { TensorInfo } from '../../../src-shared/domain/model.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { DEFAULT_EXECUTION_PROVIDER_ORDER } from '../core/executionProviders.ts'
import type { TensorValue } from '../core/tensorValue.ts'
import type { LoadedModel, ModelRuntime } from '../ports/modelRuntime.ts'
import { buildProbeModel } from './probeModel.ts'

/** Probed in this order; the ones this onnxruntime-node build does not list are skipped. */
export const EXECUTION_PROVIDER_CANDIDATES = DEFAULT_EXECUTION_PROVIDER_ORDER

/** onnxruntime's warning level and below would print native messages for every provider that fails to load. */
const QUIET_LOG_LEVEL = 3

/** Colour codes onnxruntime puts in some messages (ESC [ ... m). */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')

/** One line, no ANSI colour, short enough for ExecutionProviderProbe.reason. */
function shortReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  const firstLine = text.replace(ANSI_COLOUR, '').split('\n')[0] ?? ''
  return firstLine.trim().slice(0, 480) || 'unknown failure'
}

let probeCache: Promise<ExecutionProviderProbe[]> | undefined
let isLogLevelSet = false

/** Native messages for providers that fail to load would flood stderr; the agent reports those failures itself. */
function quietNativeLog(): void {
  if (isLogLevelSet) return
  ort.env.logLevel = 'fatal'
  isLogLevelSet = true
}

async function probeOnce(): Promise<ExecutionProviderProbe[]> {
  quietNativeLog()
  const supported = new Set(ort.listSupportedBackends().map((backend) => backend.name))
  const model = buildProbeModel()
  const probes: ExecutionProviderProbe[] = []
  for (const name of EXECUTION_PROVIDER_CANDIDATES) {
    if (!supported.has(name)) continue
    try {
      const session = await ort.InferenceSession.create(model, { executionProviders: [name], logSeverityLevel: QUIET_LOG_LEVEL })
      try {
        await session.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 0, 1, 2]), [1, 4]) })
      } finally {
        await session.release()
      }
      probes.push({ name, isAvailable: true })
    } catch (error) {
      probes.push({ name, isAvailable: false, reason: shortReason(error) })
    }
  }
  return probes
}

/** Probes once per process: simulated agents in one process share the result. */
export function probeExecutionProviders(): Promise<ExecutionProviderProbe[]> {
  probeCache ??= probeOnce()
  return probeCache
}

function toTensorInfo(metadata: ort.InferenceSession.ValueMetadata): TensorInfo {
  if (!metadata.isTensor) return { name: metadata.name, elementType: 'non-tensor', shape: [] }
  return {
    name: metadata.name,
    elementType: metadata.type,
    shape: metadata.shape.map((dim) => (typeof dim === 'number' ? (dim >= 0 ? dim : null) : dim)),
  }
}

function toOrtTensor(value: TensorValue): ort.Tensor {
  try {
    return new ort.Tensor(value.elementType as ort.Tensor.Type, value.data, value.dims)
  } catch (error) {
    throw new AppError('invalid-input', `Cannot build a ${value.elementType} tensor: ${shortReason(error)}`)
  }
}

function fromOrtValue(value: ort.OnnxValue): TensorValue {
  return { elementType: value.type, dims: [...value.dims], data: value.data }
}

export interface OnnxRuntimeOptions {
  /** Threads per session; 1 keeps many simulated agents from oversubscribing the CPU. 0 lets onnxruntime decide. */
  intraOpNumThreads?: number
}

export function createOnnxModelRuntime(options: OnnxRuntimeOptions = {}): ModelRuntime {
  const threadOptions: ort.InferenceSession.SessionOptions =
    options.intraOpNumThreads !== undefined && options.intraOpNumThreads > 0
      ? { intraOpNumThreads: options.intraOpNumThreads, interOpNumThreads: 1 }
      : {}

  return {
    probeExecutionProviders,

    async load(modelBytes, providers) {
      quietNativeLog()
      const failures: string[] = []
      for (const provider of providers) {
        let session: ort.InferenceSession
        try {
          session = await ort.InferenceSession.create(modelBytes, {
            ...threadOptions,
            executionProviders: [provider],
            logSeverityLevel: QUIET_LOG_LEVEL,
          })
        } catch (error) {
          failures.push(`${provider}: ${shortReason(error)}`)
          continue
        }
        const loaded: LoadedModel = {
          executionProvider: provider,
          loadFailures: [...failures],
          inputs: session.inputMetadata.map(toTensorInfo),
          outputs: session.outputMetadata.map(toTensorInfo),
          async run(feeds) {
            const ortFeeds: Record<string, ort.Tensor> = {}
            for (const [name, value] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(value)
            let results: ort.InferenceSession.ReturnType
            try {
              results = await session.run(ortFeeds)
            } catch (error) {
              throw new AppError('inference-failed', `Inference failed: ${shortReason(error)}`)
            }
            const outputs: Record<string, TensorValue> = {}
            for (const [name, value] of Object.entries(results)) outputs[name] = fromOrtValue(value)
            return outputs
          },
          async close() {
            await session.release()
          },
        }
        return loaded
      }
      throw new AppError('model-load-failed', `The model did not load on any execution provider (${failures.join('; ').slice(0, 400)})`, {
        providers: [...providers],
      })
    },
  }
}
