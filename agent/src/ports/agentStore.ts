/** Durable agent state on the local file system. Implemented by adapters/fsStore.ts (anchors-security.md §10.7). */
import type { ActiveModel } from '../../../src-shared/domain/device.ts'
import type { InstallDirective, InstallRecord, Slot } from '../core/installMachine.ts'

export type { InstallDirective, InstallRecord, Slot }

/** Bad releases remembered per device; the oldest is forgotten first. */
export const MAX_BAD_RELEASES = 32

export interface AgentState {
  /** Highest directive seq accepted; persisted before the directive is acted on (anti-replay). */
  lastDirectiveSeq: number
  /** Seq of the last telemetry window sent; persisted before the window is published. */
  reportSeq: number
  /** The install in flight or the last one finished, so a restart resumes or re-reports it. */
  install: InstallRecord | null
  /** SHA-256 of artifacts that failed their trial here (anchors-security.md §10.9 bad_release), oldest first. */
  badReleases: string[]
}

/**
 * A slot and the model in it. `active.json` names the slot being served (during a trial, the new one);
 * `committed.json` is the commit record: the last model that passed its trial, the rollback target.
 */
export interface ActivePointer {
  slot: Slot
  model: ActiveModel
  sizeBytes: number
  /** When this pointer was written. */
  activatedAt: string
}

export interface DownloadProgress {
  /** The chunk list's bytes exactly as received (their hash was verified before they were stored). */
  chunkListBytes: Uint8Array
  /** Indices recorded as written and fsynced in the staging file (callers re-hash them before trusting them). */
  verifiedChunks: number[]
}

export interface AgentStore {
  readonly dataDir: string
  /** Creates the layout and proves it is writable. Throws AppError 'data-dir-unwritable' or 'disk-full'. */
  open(): Promise<void>
  /** Throws AppError 'database-corrupt' when the state file exists but cannot be read. */
  loadState(): Promise<AgentState>
  saveState(state: AgentState): Promise<void>
  loadActive(): Promise<ActivePointer | null>
  /** Replaces the active pointer atomically: this is the switch (and the switch back). */
  saveActive(pointer: ActivePointer): Promise<void>
  /** Removes the active pointer durably (a first install rolled back: nothing to serve). */
  clearActive(): Promise<void>
  loadCommitted(): Promise<ActivePointer | null>
  /** The commit record: the single durable write that commits a model (§10.8 COMMITTING). */
  saveCommitted(pointer: ActivePointer): Promise<void>

  loadDownload(sha256: string): Promise<DownloadProgress | null>
  saveChunkList(sha256: string, chunkListBytes: Uint8Array): Promise<void>
  /** Starts an empty verified-chunk log for a fresh download. */
  resetVerifiedChunks(sha256: string): Promise<void>
  /** Appends one verified index to the log and syncs it: constant cost per chunk, whatever the artifact size. */
  recordVerifiedChunk(sha256: string, index: number): Promise<void>
  /** Writes bytes at an offset of `staging/<sha>.part` and fsyncs them. */
  writeStagingChunk(sha256: string, offsetBytes: number, bytes: Uint8Array): Promise<void>
  readStagingRange(sha256: string, offsetBytes: number, lengthBytes: number): Promise<Uint8Array>
  /** Truncates the staging file to `sizeBytes` and returns its SHA-256. */
  finishStaging(sha256: string, sizeBytes: number): Promise<string>
  /** True when `staging/<sha>.part` exists (a crash between download and promotion leaves it). */
  hasStaging(sha256: string): Promise<boolean>
  /** fsync, rename `staging/<sha>.part` to `slots/<slot>/model.onnx`, fsync the directory, drop the progress files. */
  promoteStaging(sha256: string, slot: Slot): Promise<void>
  discardDownload(sha256: string): Promise<void>
  /** SHA-256 of the model in a slot, or null when the slot is empty. */
  hashSlot(slot: Slot): Promise<string | null>
  /** Reads a slot's model and checks its hash; throws AppError 'artifact-corrupt' on mismatch, 'not-found' when empty. */
  readSlotVerified(slot: Slot, sha256: string): Promise<Uint8Array>
}
