/**
 * The device's whole update check in the fixed order of anchors-security.md §10.6: root chain, floor records,
 * directive, release manifest. It is a pure function of (trusted state, inputs, clock): it either accepts with
 * the new state to persist before acting, or rejects with a code and a reason and the caller keeps its state.
 */
import { updateRootChain, type TrustContext } from './verifyRoot.ts'
import { applyFloorRecords } from './verifyFloor.ts'
import { verifyDirective } from './verifyDirective.ts'
import { verifyReleaseForDirective, type DeviceCapabilities, type VerifiedRelease } from './verifyRelease.ts'
import type { DeviceTrustState } from './deviceTrustState.ts'
import type { DirectiveMetadata, FloorRecord } from './metadata.ts'
import { reject, type TrustRejection } from './trustErrors.ts'

export interface UpdateInputs {
  /** Root envelopes for versions N+1, N+2, … in order (may be empty). */
  roots?: readonly Uint8Array[]
  /** Floor record envelopes (may be empty). */
  floors?: readonly Uint8Array[]
  directive: Uint8Array
  /** The release manifest envelope the directive pins; required for install and rollback. */
  manifest?: Uint8Array
  device: DeviceCapabilities
}

export interface AcceptedUpdate {
  verdict: 'accept'
  newState: DeviceTrustState
  directive: DirectiveMetadata
  /** null for noop directives. */
  release: VerifiedRelease | null
  floors: FloorRecord[]
  rootStepsApplied: number
  isRootUpdatePending: boolean
}

export type UpdateResult = AcceptedUpdate | TrustRejection

export function verifyUpdate(state: DeviceTrustState, inputs: UpdateInputs, context: TrustContext): UpdateResult {
  const rooted = updateRootChain(state, inputs.roots ?? [], context)
  if (rooted.verdict === 'reject') return rooted
  const floored = applyFloorRecords(rooted.newState, inputs.floors ?? [], context)
  if (floored.verdict === 'reject') return floored
  const directed = verifyDirective(floored.newState, inputs.directive, context)
  if (directed.verdict === 'reject') return directed
  const { directive } = directed
  const base = {
    verdict: 'accept' as const,
    directive,
    floors: floored.records,
    rootStepsApplied: rooted.stepsApplied,
    isRootUpdatePending: rooted.isUpdatePending,
  }
  if (directive.action === 'noop') return { ...base, newState: directed.newState, release: null }
  if (inputs.manifest === undefined) {
    return reject('release', 'missing-input', `The ${directive.action} directive seq ${directive.seq} needs its release manifest`)
  }
  const released = verifyReleaseForDirective(directed.newState, directive, inputs.manifest, inputs.device, context)
  if (released.verdict === 'reject') return released
  const { manifest, manifestSha256, signatures } = released
  return {
    ...base,
    newState: { ...directed.newState, trustedTimeMs: Math.max(directed.newState.trustedTimeMs, released.trustedTimeMs) },
    release: { manifest, manifestSha256, signatures },
  }
}
