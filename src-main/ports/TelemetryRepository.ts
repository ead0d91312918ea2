import type { TelemetryWindow } from '../../src-shared/protocol/messages.ts'

/** Telemetry windows, keyed by (deviceId, reportSeq) so a redelivered window is stored once. */
export interface TelemetryRepository {
  /** Stores the window; false when a window with the same device and reportSeq already exists. */
  insert(window: TelemetryWindow, receivedAt: string): Promise<boolean>
  /** Deletes windows received before `receivedBefore` (ISO instant). Returns how many were deleted. */
  pruneReceivedBefore(receivedBefore: string): Promise<number>
}
