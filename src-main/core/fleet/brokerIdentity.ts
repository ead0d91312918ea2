/** Who may use the broker (anchors-security.md §10.10). Pure. */

/** The MQTT username of the control center; no device may take it. */
export const CONTROL_CENTER_USERNAME = 'control-center'

/** Device ids that would collide with the control center's username or client ids. */
export function isReservedDeviceId(deviceId: string): boolean {
  return deviceId.toLowerCase().startsWith(CONTROL_CENTER_USERNAME)
}

/** Everything the control center publishes or subscribes to lives under this prefix. */
export const CONTROL_CENTER_TOPIC_PREFIX = 'outpost/v1/'
