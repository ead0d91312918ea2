/**
 * The trust checks of the install pipeline (anchors-security.md §10.6 steps 3-5), as a seam: the signature library
 * plugs in here. Hash checks of chunks and of the whole artifact happen in the download regardless.
 */
import type { InstallDirective } from '../core/installMachine.ts'

export type VerificationVerdict = { isTrusted: true } | { isTrusted: false; code: string; message: string }

export interface InstallVerifier {
  /** Before any byte is fetched: may this device install this release (signatures, floor, expiry, compatibility)? */
  verifyRelease(directive: InstallDirective): Promise<VerificationVerdict>
  /** After the artifact's SHA-256 matched, before it is activated: checks over the exact bytes that will load. */
  verifyArtifact(directive: InstallDirective, bytes: Uint8Array): Promise<VerificationVerdict>
}

/** Integrity only: the directive's hashes, already enforced by the download, are all that is checked. */
export const integrityOnlyVerifier: InstallVerifier = {
  verifyRelease: async () => ({ isTrusted: true }),
  verifyArtifact: async () => ({ isTrusted: true }),
}
