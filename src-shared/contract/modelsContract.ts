import { z } from 'zod'
import { DeviceId, ModelId } from '../domain/ids.ts'
import { ModelSummary } from '../domain/model.ts'
import type { EventTable, MethodTable } from '../rpc/types.ts'

/** Largest model accepted through an upload call (base64 inside one RPC message). */
export const MAX_UPLOAD_BYTES = 128 * 1024 * 1024

const ModelLabel = z.object({
  name: z.string().min(1).max(128).optional(),
  version: z.string().min(1).max(64).optional(),
})

/** Requests about models. */
export const modelsMethods = {
  'models.list': { input: z.object({}), output: z.array(ModelSummary) },
  /**
   * Imports a model from bytes the UI read from a file (drag and drop, file picker). The bytes are checked by
   * loading them in onnxruntime before anything is stored. Throws `model-invalid`, `message-too-large`.
   */
  'models.upload': {
    input: ModelLabel.extend({
      fileName: z.string().min(1).max(256),
      contentBase64: z.string().max(Math.ceil(MAX_UPLOAD_BYTES / 3) * 4),
    }),
    output: ModelSummary,
  },
  /** Imports a model from a path on the control center's machine (CLI, Electron drag and drop). */
  'models.importFile': { input: ModelLabel.extend({ path: z.string().min(1).max(4096) }), output: ModelSummary },
  /**
   * Assigns a model to devices: each gets a directive with a higher sequence number and pulls the artifact over
   * MQTT. Throws `not-found` for an unknown model or device.
   */
  'models.deploy': {
    input: z.object({ modelId: ModelId, deviceIds: z.array(DeviceId).min(1).max(10_000) }),
    output: z.object({ directives: z.array(z.object({ deviceId: DeviceId, seq: z.number().int().positive() })) }),
  },
} as const satisfies MethodTable

/** Pushes about models. */
export const modelsEvents = {
  'model.changed': ModelSummary,
} as const satisfies EventTable
