import type { DirectiveRequest } from '../core/rollout/rolloutMachine.ts'

/** A directive as the device's directive store has it. */
export interface IssuedDirective {
  seq: number
  /** Unsigned protocol v1 knows install and noop; a rollback there is an install of the older artifact. */
  action: 'install' | 'rollback' | 'noop'
  /** The artifact it installs (rollback: returns to); null for noop. */
  artifactSha256: string | null
}

/**
 * Sends rollout directives to devices. Implementations persist the directive with the device's next seq before
 * publishing it, so a device that is offline gets it on its next sync (anchors-security.md §10.10: `$next`
 * semantics), and newer directives always supersede older ones on the device.
 */
export interface DirectiveSender {
  /**
   * Issues the directive and resolves once it is durable (published or queued). Throws AppError 'not-found' for an
   * unknown device or artifact; other errors leave the intent in place for the next tick.
   */
  send(request: DirectiveRequest): Promise<IssuedDirective>
  /**
   * Each device's newest directive (devices without any are absent). The rollout service compares it with the seq
   * it saw when it decided a send, so a send interrupted by a crash is found instead of repeated.
   */
  latest(deviceIds: readonly string[]): Promise<Map<string, IssuedDirective>>
}
