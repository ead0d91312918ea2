import type { TelemetryWindow } from '../../src-shared/protocol/messages.ts'

/** Telemetry windows, keyed by (deviceId, reportSeq) so a redelivered window is stored once. */
export interface TelemetryRepository {
  /**
   * Stores the window; resolves once it is committed (writes may be batched), false when a window with the same
   * device and reportSeq already exists.
   */
  insert(window: TelemetryWindow, receivedAt: string): Promise<boolean>
  /**
   * Deletes windows received before `receivedBefore` (ISO instant) that the rollups already consumed (the others
   * stay until they are rolled up). Returns how many were deleted.
   */
  pruneReceivedBefore(receivedBefore: string): Promise<number>
}
