import type { Directive } from '../../src-shared/protocol/messages.ts'

/** The directives issued to each device; per device, sequence numbers only grow. */
export interface DirectiveRepository {
  /**
   * Atomically picks the device's next sequence number, max(highest stored, device-reported) + 1 (see
   * core/fleet nextDirectiveSeq), builds the directive with it and stores it. The device must exist.
   */
  issueNext(deviceId: string, build: (seq: number) => Directive): Promise<Directive>
  /** The device's newest directive, if any. */
  latest(deviceId: string): Promise<Directive | undefined>
  /** Has the device ever been told to install the artifact with this sha256? Gates artifact downloads. */
  hasIssuedArtifact(deviceId: string, sha256: string): Promise<boolean>
}
