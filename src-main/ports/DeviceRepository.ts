import type { DeviceRecord } from '../core/fleet/deviceRecord.ts'

/** A change of one device record; returning undefined stores nothing. */
export type DeviceChange = (record: DeviceRecord | undefined) => DeviceRecord | undefined

/**
 * Device records as the services need them. Async so the store can move to a worker thread later
 * (anchors-aesthetics.md §4.5).
 *
 * Two ways to write: update() commits at once (enrollment, status, install reports: state an operator or the
 * protocol acts on), updateSoon() coalesces frequent bookkeeping (lastSeenAt, latency summary) per device and commits
 * many devices in one transaction. Both apply in call order per device: update() and every read first store what
 * updateSoon() still holds for that device.
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
  update(deviceId: string, change: DeviceChange): Promise<DeviceRecord | undefined>
  /**
   * Queues `change` for the next batch; changes queued for one device between two batches are applied in order and
   * written once. Every call for the device that lands in the same batch gets the same promise, which resolves after
   * the commit with the stored record, or undefined when nothing was stored or a later update() wrote the changes
   * first (its own result then already contains them).
   */
  updateSoon(deviceId: string, change: DeviceChange): Promise<DeviceRecord | undefined>
  /** Commits every queued updateSoon() change now. */
  flush(): Promise<void>
  /** Marks every device offline (the control center starts or stops, so no connection is known). */
  markAllOffline(): Promise<void>
}
