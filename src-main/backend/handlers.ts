/** Contract method -> service call, one line each. The compiler checks that every method of outpostMethods is here. */
import type { OutpostMethods, SystemInfo } from '../../src-shared/contract/index.ts'
import { MAX_UPLOAD_BYTES } from '../../src-shared/contract/modelsContract.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { Handlers } from '../../src-shared/rpc/types.ts'
import type { DevicesService } from '../services/devicesService.ts'
import type { ModelService } from '../services/modelService.ts'

export interface HandlerDependencies {
  info: SystemInfo
  devices: DevicesService
  models: ModelService
}

export function createHandlers({ info, devices, models }: HandlerDependencies): Handlers<OutpostMethods> {
  return {
    'system.info': async () => info,
    'devices.list': async () => devices.list(),
    'devices.get': async ({ deviceId }) => devices.get(deviceId),
    'devices.enroll': async ({ deviceId }) => devices.enroll(deviceId),
    'models.list': async () => models.list(),
    'models.upload': async ({ fileName, contentBase64, name, version }) =>
      models.importBytes(decodeUpload(contentBase64), fileName, { name, version }),
    'models.importFile': async ({ path, name, version }) => models.importFile(path, { name, version }),
    'models.deploy': async ({ modelId, deviceIds }) => models.deploy(modelId, deviceIds),
  }
}

/** Buffer.from(…, 'base64') skips invalid characters silently; an upload must be exact, so check first. */
export function decodeUpload(contentBase64: string): Uint8Array {
  if (contentBase64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(contentBase64)) {
    throw new AppError('invalid-input', 'The uploaded file is not valid base64')
  }
  const bytes = Buffer.from(contentBase64, 'base64')
  if (bytes.byteLength > MAX_UPLOAD_BYTES) {
    throw new AppError('message-too-large', `Uploads are limited to ${MAX_UPLOAD_BYTES} bytes; import large models from a file path`, {
      sizeBytes: bytes.byteLength,
    })
  }
  return bytes
}
