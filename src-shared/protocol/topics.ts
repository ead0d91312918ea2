/**
 * MQTT topic layout, version 1. Nothing else builds topic strings.
 *
 * Each device owns one subtree `outpost/v1/d/<deviceId>/`: it may publish only under `up/` and read only under
 * `down/`, so a broker ACL is two patterns per device (anchors-security.md §10.10). Device ids never contain
 * '/', '+' or '#' (see DeviceId), so an id can never widen a filter.
 */
export const TOPIC_ROOT = 'outpost/v1'

const device = (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}`

export const topics = {
  /** Retained online/offline flag; the broker publishes the offline form as the agent's last will. */
  status: (deviceId: string) => `${device(deviceId)}/up/status`,
  /** Sent on every (re)connect: identity, capabilities, last directive seq and active model. Answered with `desired`. */
  sync: (deviceId: string) => `${device(deviceId)}/up/sync`,
  heartbeat: (deviceId: string) => `${device(deviceId)}/up/heartbeat`,
  telemetry: (deviceId: string) => `${device(deviceId)}/up/telemetry`,
  /** Install progress and results. */
  report: (deviceId: string) => `${device(deviceId)}/up/report`,
  /** Pull requests for artifact pieces (chunk lists and chunks), like AWS IoT GetStream. */
  request: (deviceId: string) => `${device(deviceId)}/up/req`,
  /** The current directive for the device. Never relied upon as retained: `sync` re-asks on every connect. */
  desired: (deviceId: string) => `${device(deviceId)}/down/desired`,
  /** Wake-ups such as "sync now". */
  command: (deviceId: string) => `${device(deviceId)}/down/cmd`,
  chunkList: (deviceId: string, sha256: string) => `${device(deviceId)}/down/chunklist/${sha256}`,
  chunk: (deviceId: string, sha256: string, index: number) => `${device(deviceId)}/down/chunk/${sha256}/${index}`,

  /** Filters: what a device subscribes to, what it may publish, what the control center listens to. */
  deviceDownFilter: (deviceId: string) => `${device(deviceId)}/down/#`,
  deviceUpPrefix: (deviceId: string) => `${device(deviceId)}/up/`,
  allUpFilter: `${TOPIC_ROOT}/d/+/up/#`,
} as const

export type UpKind = 'status' | 'sync' | 'heartbeat' | 'telemetry' | 'report' | 'req'
export type DownKind =
  | { kind: 'desired' }
  | { kind: 'cmd' }
  | { kind: 'chunklist'; sha256: string }
  | { kind: 'chunk'; sha256: string; index: number }

const UP_KINDS: readonly UpKind[] = ['status', 'sync', 'heartbeat', 'telemetry', 'report', 'req']

/** Splits an upstream topic into device id and kind; undefined for anything outside the layout. */
export function parseUpTopic(topic: string): { deviceId: string; kind: UpKind } | undefined {
  const parts = topic.split('/')
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[2] !== 'd' || parts[4] !== 'up') return undefined
  const kind = parts[5] as UpKind
  if (!UP_KINDS.includes(kind) || !parts[3]) return undefined
  return { deviceId: parts[3], kind }
}

/** Splits a downstream topic addressed to `deviceId`; undefined for anything else. */
export function parseDownTopic(deviceId: string, topic: string): DownKind | undefined {
  const prefix = `${device(deviceId)}/down/`
  if (!topic.startsWith(prefix)) return undefined
  const rest = topic.slice(prefix.length).split('/')
  if (rest.length === 1 && rest[0] === 'desired') return { kind: 'desired' }
  if (rest.length === 1 && rest[0] === 'cmd') return { kind: 'cmd' }
  if (rest.length === 2 && rest[0] === 'chunklist' && /^[0-9a-f]{64}$/.test(rest[1]!)) {
    return { kind: 'chunklist', sha256: rest[1]! }
  }
  if (rest.length === 3 && rest[0] === 'chunk' && /^[0-9a-f]{64}$/.test(rest[1]!) && /^(0|[1-9][0-9]{0,6})$/.test(rest[2]!)) {
    return { kind: 'chunk', sha256: rest[1]!, index: Number(rest[2]) }
  }
  return undefined
}

/** May this authenticated device publish on this topic? Used by the embedded broker's authorizePublish. */
export function canDevicePublish(deviceId: string, topic: string): boolean {
  return parseUpTopic(topic)?.deviceId === deviceId
}

/** May this authenticated device subscribe to this filter? Only its own `down/` subtree, no wildcards elsewhere. */
export function canDeviceSubscribe(deviceId: string, filter: string): boolean {
  const down = `${device(deviceId)}/down/`
  if (filter === topics.deviceDownFilter(deviceId)) return true
  return filter.startsWith(down) && !filter.slice(down.length).includes('+') && !filter.slice(down.length, -1).includes('#')
}
