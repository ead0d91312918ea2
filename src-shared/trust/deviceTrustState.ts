/**
 * What a device trusts, as plain JSON-safe data (anchors-security.md §10.4). The agent persists it durably
 * before acting on anything it protects. Every function here returns a new state and never mutates its input;
 * a verification that rejects returns no state at all, so the caller keeps the one it has.
 */
import type { RootMetadata } from './metadata.ts'
import { reject, type TrustRejection } from './trustErrors.ts'

export interface InstalledRelease {
  releaseCounter: number
  manifestSha256: string
}

export interface ActiveRelease extends InstalledRelease {
  modelId: string
}

export interface SecurityFloor {
  minReleaseCounter: number
  /** Version of the floor record that set it; older records are refused. */
  version: number
}

export interface DeviceTrustState {
  deviceId: string
  /** The trusted root's payload, verified when it was accepted. */
  root: RootMetadata
  /** Highest directive sequence accepted; reset to 0 only when a new root changes the director keys. */
  directorSeq: number
  /** max(clock, highest issued seen), persisted so a clock set back cannot revive expired metadata. */
  trustedTimeMs: number
  /** Per model id. Raised only by release-signed floor records, never lowered. */
  floors: Readonly<Record<string, SecurityFloor>>
  /** Last committed release per model id: the ordering reference for install (>) and rollback (<). */
  installed: Readonly<Record<string, InstalledRelease>>
  /** The release the device runs now; what a directive's expect_current is compared with. */
  active: ActiveRelease | null
  /** Manifest digests marked bad after a failed health check; reinstalled only by a directive with retry. */
  badReleases: readonly string[]
  /** issued of the newest accepted heartbeat, to refuse replays. */
  lastHeartbeatIssuedMs: number | null
  /** issued of the newest accepted director heartbeat or directive (or enrollment): the freeze detector's input. */
  lastFreshAtMs: number
}

/** Directive expiry is 24 h and heartbeats come hourly; 48 h of silence means someone may be withholding (§10.5). */
export const FREEZE_SUSPECTED_AFTER_MS = 48 * 60 * 60 * 1000
/** Bounded so a long-lived device's state stays small. */
export const MAX_BAD_RELEASES = 256

export function floorOf(state: DeviceTrustState, modelId: string): SecurityFloor | undefined {
  return Object.hasOwn(state.floors, modelId) ? state.floors[modelId] : undefined
}

export function installedOf(state: DeviceTrustState, modelId: string): InstalledRelease | undefined {
  return Object.hasOwn(state.installed, modelId) ? state.installed[modelId] : undefined
}

export function effectiveNowMs(state: DeviceTrustState, clockMs: number): number {
  return Math.max(clockMs, state.trustedTimeMs)
}

/** After a successful health check and commit: the release becomes the installed and active one. */
export function recordCommitted(state: DeviceTrustState, release: ActiveRelease): DeviceTrustState {
  return {
    ...state,
    installed: { ...state.installed, [release.modelId]: { releaseCounter: release.releaseCounter, manifestSha256: release.manifestSha256 } },
    active: { ...release },
    badReleases: state.badReleases.filter((digest) => digest !== release.manifestSha256),
  }
}

/** After a local automatic rollback: the failed release is refused until a directive says retry. */
export function recordBadRelease(state: DeviceTrustState, manifestSha256: string): DeviceTrustState {
  if (state.badReleases.includes(manifestSha256)) return state
  return { ...state, badReleases: [...state.badReleases, manifestSha256].slice(-MAX_BAD_RELEASES) }
}

/** The freeze detector: no fresh director-signed metadata for too long (reported as an attack indicator). */
export function checkFreshness(
  state: DeviceTrustState,
  clockMs: number,
  maxSilenceMs: number = FREEZE_SUSPECTED_AFTER_MS,
): { verdict: 'accept' } | TrustRejection {
  const silenceMs = effectiveNowMs(state, clockMs) - state.lastFreshAtMs
  if (silenceMs > maxSilenceMs) {
    const hours = Math.floor(silenceMs / 3_600_000)
    return reject('freshness', 'frozen', `No fresh director heartbeat or directive for ${hours} h; updates may be withheld`)
  }
  return { verdict: 'accept' }
}
