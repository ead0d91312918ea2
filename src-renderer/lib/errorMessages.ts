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
    summary: 'The device, model or rollout is not known to this control center.',
    action: 'Reload the page; enroll the device again with `outpost devices enroll` if it is missing.',
  },
  conflict: {
    summary: 'This action does not fit the current state, or someone else changed it at the same time.',
    action: 'Reload to see the current state (a rollout may have moved on), then try again.',
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
    summary: 'The model could not be loaded by onnxruntime, on a device or while optimizing or evaluating it here.',
    action: 'On a device, open it to see which execution providers loaded; for an optimized model, try another recipe or options.',
  },
  'inference-failed': {
    summary: 'Running the model failed, on a device or during calibration or evaluation here.',
    action: "Check that the inputs match the model's input names, types and shapes; on a device, read the agent's log.",
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
  'signature-invalid': {
    summary: 'A signature on this release or directive does not verify.',
    action: 'Do not use it: get the bundle again from its release signers, who should re-sign it with their own keys.',
  },
  'threshold-not-met': {
    summary: 'Too few release signers have signed this release.',
    action: 'Ask another release key holder to run `outpost release sign BUNDLE --key KEYFILE`, then import it again.',
  },
  'metadata-expired': {
    summary: 'The signed metadata is outside its validity period.',
    action: 'Have the signers re-sign it (`outpost release create` a new release or renew the root), and check the clock.',
  },
  'metadata-invalid': {
    summary: 'The signed metadata is malformed, too large, or of the wrong kind.',
    action: 'Recreate it with `outpost release create`; do not edit release.json by hand.',
  },
  'path-unsafe': {
    summary: 'A file name in the release could escape its folder.',
    action: 'Refuse this bundle: file names are letters, digits, dots, dashes and underscores only.',
  },
  'root-invalid': {
    summary: 'The trust root (root.json) is missing, damaged, or does not sign itself.',
    action: 'Use the root.json written by `outpost keys init`, or a newer one signed by the root key holders.',
  },
  'rollback-detected': {
    summary: 'This would move a device or a counter back to an older release.',
    action: 'To go back deliberately, issue a signed rollback to a release at or above the security floor.',
  },
  'replay-detected': {
    summary: 'A directive or report was seen before and was refused as a replay.',
    action: 'Nothing to do if this was a retry; otherwise check who else can publish on the broker.',
  },
  'wrong-device': {
    summary: 'The signed directive was made for another device.',
    action: 'Issue the directive again for this device.',
  },
  'below-floor': {
    summary: 'This release is below its model\'s security floor.',
    action: 'Deploy a release with a counter at or above the floor.',
  },
  'bad-release': {
    summary: 'The device marked this release bad after a failed health check.',
    action: 'Fix the model and release a new version, or send a directive with retry after checking the device.',
  },
  'hash-mismatch': {
    summary: 'A file does not match the length or SHA-256 its signed manifest names.',
    action: 'The bundle was changed or damaged: get a fresh copy from the release signers.',
  },
  'bundle-invalid': {
    summary: 'The release bundle has files missing or files its manifest does not list.',
    action: 'Copy the whole bundle folder again, exactly as `outpost release create` wrote it.',
  },
  'not-release-ready': {
    summary: 'The model card says this candidate failed its evaluation gate.',
    action: 'Improve the candidate, or pass `--override-reason TEXT` to record why it ships anyway.',
  },
  'trust-not-configured': {
    summary: 'This control center was started without a trust root.',
    action: 'Restart it with `outpost serve --trust-dir DIR` (the folder of `outpost keys init`).',
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
