import { z } from 'zod'
import { DeviceId, Instant, ModelId, Sha256Hex } from './ids.ts'

/** What the agent found on its machine at start. Reported, never assumed. */
export const Hardware = z.object({
  arch: z.string().max(32),
  platform: z.string().max(32),
  osRelease: z.string().max(128),
  hostname: z.string().max(128),
  cpuModel: z.string().max(256),
  cpuCount: z.number().int().nonnegative(),
  memoryBytes: z.number().int().nonnegative(),
  /** Device nodes seen such as /dev/nvidia0, /dev/dri/renderD128, /dev/accel0, /dev/apex_0. */
  accelerators: z.array(z.string().max(128)).max(64),
})
export type Hardware = z.infer<typeof Hardware>

/** An onnxruntime execution provider and whether a session on it actually loaded on this device. */
export const ExecutionProviderProbe = z.object({
  name: z.string().max(32),
  isAvailable: z.boolean(),
  /** Why it did not load, when it did not (missing library, no adapter...). */
  reason: z.string().max(500).optional(),
})
export type ExecutionProviderProbe = z.infer<typeof ExecutionProviderProbe>

export const InstallState = z.enum([
  'idle',
  'accepted',
  'downloading',
  'verified',
  'staged',
  'switching',
  'trial',
  'committed',
  'rolling-back',
  'rolled-back',
  'failed',
])
export type InstallState = z.infer<typeof InstallState>

export const ActiveModel = z.object({
  modelId: ModelId,
  name: z.string().max(128),
  version: z.string().max(64),
  sha256: Sha256Hex,
})
export type ActiveModel = z.infer<typeof ActiveModel>

export const LatencySummary = z.object({
  p50Ms: z.number().nonnegative(),
  p95Ms: z.number().nonnegative(),
  p99Ms: z.number().nonnegative(),
  requestCount: z.number().int().nonnegative(),
  errorCount: z.number().int().nonnegative(),
  windowEndAt: Instant,
})
export type LatencySummary = z.infer<typeof LatencySummary>

/** A device as the control center knows it. */
export const DeviceSummary = z.object({
  deviceId: DeviceId,
  isOnline: z.boolean(),
  firstSeenAt: Instant.nullable(),
  lastSeenAt: Instant.nullable(),
  agentVersion: z.string().max(32).nullable(),
  hardware: Hardware.nullable(),
  executionProviders: z.array(ExecutionProviderProbe),
  /** The provider the running model session uses, e.g. 'cpu' or 'cuda'. */
  executionProvider: z.string().max(32).nullable(),
  activeModel: ActiveModel.nullable(),
  desiredModelId: ModelId.nullable(),
  install: z.object({
    state: InstallState,
    progress: z.number().min(0).max(1),
    errorCode: z.string().max(64).nullable(),
    message: z.string().max(500).nullable(),
  }),
  latency: LatencySummary.nullable(),
})
export type DeviceSummary = z.infer<typeof DeviceSummary>
