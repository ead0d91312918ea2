import type { DeviceRecord } from '../core/fleet/deviceRecord.ts'

/**
 * Device records as the services need them. Async so the store can move to a worker thread later
 * (anchors-aesthetics.md §4.5).
 */
export interface DeviceRepository {
  /** Every device, ordered by id. */
  list(): Promise<DeviceRecord[]>
  get(deviceId: string): Promise<DeviceRecord | undefined>
  /**
   * Reads the record (undefined when unknown), applies `change` and stores the result, atomically: concurrent
   * updates of the same device never lose each other's fields. `change` returning undefined stores nothing.
   * `desiredModelId` is derived from the directives and ignored on write. Returns the stored record.
   */
  update(deviceId: string, change: (record: DeviceRecord | undefined) => DeviceRecord | undefined): Promise<DeviceRecord | undefined>
  /** Marks every device offline (the control center starts or stops, so no connection is known). */
  markAllOffline(): Promise<void>
}
