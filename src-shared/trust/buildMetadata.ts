/** Construction helpers for signers (CLI, control center, tests): payload objects to the bytes that get signed. */
import { encodeHex, encodeUtf8, type Sha256 } from './bytes.ts'
import { keyIdOf } from './ed25519.ts'
import { RootMetadata, roleNames, type RoleName } from './metadata.ts'

/**
 * The exact bytes to sign. Any JSON serialization works (signatures cover bytes, not meaning); this one is
 * compact so manifests stay far below their cap.
 */
export function encodePayload(payload: object): Uint8Array {
  return encodeUtf8(JSON.stringify(payload))
}

export interface RoleKeysInput {
  publicKeys: readonly Uint8Array[]
  threshold: number
}

export interface RootInput {
  version: number
  expiresAt: string
  roles: Readonly<Record<RoleName, RoleKeysInput>>
  deviceCa?: string
}

/** Builds and schema-checks a root payload; keyids are computed from the keys. */
export function buildRootMetadata(sha256: Sha256, input: RootInput): RootMetadata {
  const keys: Record<string, { scheme: 'ed25519'; public: string }> = {}
  const roles = {} as Record<RoleName, { keyids: string[]; threshold: number }>
  for (const role of roleNames) {
    const spec = input.roles[role]
    const keyids = spec.publicKeys.map((publicKey) => {
      const keyid = keyIdOf(sha256, publicKey)
      keys[keyid] = { scheme: 'ed25519', public: encodeHex(publicKey) }
      return keyid
    })
    roles[role] = { keyids, threshold: spec.threshold }
  }
  const root = {
    spec: 'outpost-root/1',
    version: input.version,
    expires: input.expiresAt,
    keys,
    roles,
    ...(input.deviceCa === undefined ? {} : { device_ca: input.deviceCa }),
  }
  return RootMetadata.parse(root)
}
