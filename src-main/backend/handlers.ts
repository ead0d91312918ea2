/** Contract method -> service call, one line each. The compiler checks that every method of outpostMethods is here. */
import type { OutpostMethods, SystemInfo } from '../../src-shared/contract/index.ts'
import { MAX_UPLOAD_BYTES } from '../../src-shared/contract/modelsContract.ts'
import { AppError } from '../../src-shared/errors.ts'
import type { Handlers } from '../../src-shared/rpc/types.ts'
import type { DevicesService } from '../services/devicesService.ts'
import type { ModelService } from '../services/modelService.ts'
import type { ReleaseService } from '../services/releaseService.ts'
import type { PackagingService } from '../services/packagingService.ts'
import type { RolloutService } from '../services/rolloutService.ts'
import { createRolloutHandlers } from './rolloutHandlers.ts'
import type { DriftService } from '../services/driftService.ts'
import { createTelemetryHandlers } from './telemetryHandlers.ts'

export interface HandlerDependencies {
  info: SystemInfo
  devices: DevicesService
  models: ModelService
  packaging: PackagingService
  releases: ReleaseService
  rollouts: RolloutService
  drift: DriftService
}

export function createHandlers({ info, devices, models, packaging, releases, rollouts, drift }: HandlerDependencies): Handlers<OutpostMethods> {
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
    'models.inspect': async ({ modelId }) => packaging.inspect(modelId),
    'models.optimize': async ({ calibrationUploadBase64, calibrationFileName, ...command }) =>
      packaging.optimize({ ...command, calibrationUpload: optionalUpload(calibrationUploadBase64, calibrationFileName, 'calibration.npz') }),
    'models.evaluate': async ({ inputsBase64, inputsFileName, labelsBase64, ...command }) =>
      packaging.evaluate({
        ...command,
        inputsUpload: optionalUpload(inputsBase64, inputsFileName, 'inputs.npz'),
        labelsUpload: optionalUpload(labelsBase64, undefined, 'labels.npy'),
      }),
    'models.card': async ({ modelId }) => packaging.card(modelId),
    'releases.list': async () => releases.list(),
    'releases.trustStatus': async () => releases.trustStatus(),
    'releases.import': async ({ path }) => releases.importPath(path),
    'releases.upload': async ({ files }) => releases.importUpload(decodeBundleUpload(files)),
    ...createRolloutHandlers(rollouts),
    ...createTelemetryHandlers(drift),
  }
}

function optionalUpload(contentBase64: string | undefined, fileName: string | undefined, fallbackName: string) {
  return contentBase64 === undefined ? undefined : { bytes: decodeUpload(contentBase64), fileName: fileName ?? fallbackName }
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

/** Each file decoded like a model upload; the whole bundle shares one size limit. */
export function decodeBundleUpload(files: ReadonlyArray<{ path: string; contentBase64: string }>): Array<{ path: string; bytes: Uint8Array }> {
  let totalBytes = 0
  return files.map(({ path, contentBase64 }) => {
    const bytes = decodeUpload(contentBase64)
    totalBytes += bytes.byteLength
    if (totalBytes > MAX_UPLOAD_BYTES) {
      throw new AppError('message-too-large', `Bundle uploads are limited to ${MAX_UPLOAD_BYTES} bytes; import large bundles from a folder path`, {
        sizeBytes: totalBytes,
      })
    }
    return { path, bytes }
  })
}
