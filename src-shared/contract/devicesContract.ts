import { z } from 'zod'
import { DeviceSummary } from '../domain/device.ts'
import { DeviceId } from '../domain/ids.ts'
import type { EventTable, MethodTable } from '../rpc/types.ts'

export const DeviceCredentials = z.object({
  deviceId: DeviceId,
  /** MQTT username; always equal to the device id (anchors-security.md §10.10). */
  username: z.string(),
  /** Shown once; only a scrypt hash is stored. */
  password: z.string(),
  brokerUrl: z.string(),
})
export type DeviceCredentials = z.infer<typeof DeviceCredentials>

/** Requests about devices. */
export const devicesMethods = {
  /** Every known device, ordered by id. */
  'devices.list': { input: z.object({}), output: z.array(DeviceSummary) },
  /** One device. Throws `not-found`. */
  'devices.get': { input: z.object({ deviceId: DeviceId }), output: DeviceSummary },
  /**
   * Registers a device and issues its broker credentials (a new password each time, which revokes the old one).
   * The agent then runs with `--device-id ID --username ID --password P`.
   */
  'devices.enroll': { input: z.object({ deviceId: DeviceId }), output: DeviceCredentials },
} as const satisfies MethodTable

/** Pushes about devices. */
export const devicesEvents = {
  /** A device came online, went offline, reported progress, latency or a new model. */
  'device.changed': DeviceSummary,
} as const satisfies EventTable
