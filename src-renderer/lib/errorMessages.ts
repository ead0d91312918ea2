import { MAX_UPLOAD_BYTES } from '../../src-shared/contract/modelsContract.ts'
import { isErrorCode, type ErrorCode } from '../../src-shared/errors.ts'

export interface ErrorMessage {
  /** What went wrong, in one sentence. */
  summary: string
  /** What the user can do about it. */
  action: string
}

/** Every code needs an entry: adding one to src-shared/errors.ts is a compile error here until it is explained. */
const errorMessages: Record<ErrorCode, ErrorMessage> = {
  'invalid-input': {
    summary: 'The control center rejected a value in this request.',
    action: 'Check what you entered and try again.',
  },
  'not-found': {
    summary: 'The device or model is not known to this control center.',
    action: 'Reload the page; enroll the device again with `outpost devices enroll` if it is missing.',
  },
  conflict: {
    summary: 'This item was changed by someone else at the same time.',
    action: 'Reload and apply your change again.',
  },
  unauthorized: {
    summary: 'The control center did not accept the credentials.',
    action: 'Open the URL printed by `outpost serve` again, or re-enroll the device to get a new password.',
  },
  forbidden: {
    summary: 'This action is not allowed for this connection or device.',
    action: 'Check that the device id matches its credentials and topic permissions.',
  },
  unavailable: {
    summary: 'The control center cannot be reached right now.',
    action: 'Check that it is still running; this window reconnects by itself.',
  },
  timeout: {
    summary: 'The operation took too long and was stopped.',
    action: 'Check that the devices involved are online, then try again.',
  },
  'port-in-use': {
    summary: 'A port the control center needs is already in use.',
    action: 'Stop the other process, or pick other ports with `--port` and `--broker-port`.',
  },
  'data-dir-unwritable': {
    summary: 'The data directory cannot be written.',
    action: 'Fix its permissions, or choose another with `--data-dir`.',
  },
  'database-corrupt': {
    summary: 'The database file in the data directory is damaged.',
    action: 'Move outpost.db aside to start fresh, or restore it from a backup.',
  },
  'broker-unreachable': {
    summary: 'The MQTT broker cannot be reached.',
    action: 'Check the broker URL and that the broker is running; Outpost reconnects when it is back.',
  },
  'broker-url-invalid': {
    summary: 'The broker URL is not valid.',
    action: 'Pass a URL such as mqtt://host:1883 or mqtts://host:8883 with `--broker`.',
  },
  'model-invalid': {
    summary: 'The file is not a model onnxruntime can read.',
    action: 'Export the model to ONNX again and import the .onnx file.',
  },
  'model-unsupported': {
    summary: 'The model uses a format or operator this runtime does not support.',
    action: 'Export it with a lower ONNX opset, or replace the unsupported operators.',
  },
  'model-load-failed': {
    summary: 'The device could not load the model.',
    action: 'Open the device to see which execution providers loaded, then deploy a model its hardware can run.',
  },
  'inference-failed': {
    summary: 'Running the model failed on the device.',
    action: "Check that the model's inputs match what the device feeds it, and read the agent's log.",
  },
  'artifact-corrupt': {
    summary: 'A model file did not match its checksum.',
    action: 'Deploy again: the device downloads a fresh copy.',
  },
  'transfer-failed': {
    summary: 'The model could not be delivered to the device.',
    action: "Check the device's connection to the broker, then deploy again.",
  },
  'disk-full': {
    summary: 'The device or the control center ran out of disk space.',
    action: 'Free space on that machine, then try again.',
  },
  'message-invalid': {
    summary: 'A message did not follow the Outpost protocol.',
    action: 'Run the same Outpost version on the agent and the control center.',
  },
  'message-too-large': {
    summary: 'The file or message is larger than allowed.',
    action: `Upload models up to ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB here; import larger ones with \`outpost models import\`.`,
  },
  'electron-unavailable': {
    summary: 'The desktop runtime is not installed on this machine.',
    action: 'Run `outpost serve` and open the URL it prints in a browser.',
  },
  internal: {
    summary: 'Something went wrong inside Outpost.',
    action: "Try again; if it keeps happening, check the control center's log.",
  },
}

export function errorMessageFor(code: ErrorCode): ErrorMessage {
  return errorMessages[code]
}

/** For codes reported by agents, which may run a newer version than this window knows. */
export function describeReportedCode(code: string): ErrorMessage | null {
  return isErrorCode(code) ? errorMessages[code] : null
}
