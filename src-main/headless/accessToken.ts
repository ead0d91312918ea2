import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { AppError } from '../../src-shared/errors.ts'

/** The subprotocol the server answers with; a browser refuses the socket unless it offered it. */
export const RPC_SUBPROTOCOL = 'outpost.v1'
/** The token rides in a second offered subprotocol, so it never appears in a URL or a server log. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'outpost.token.'

/** 32 random bytes, base64url: 43 characters that are valid in a subprotocol name and a URL fragment. */
export function createAccessToken(): string {
  return randomBytes(32).toString('base64url')
}

/** Checks a token given on the command line: it must survive a Sec-WebSocket-Protocol header and be hard to guess. */
export function validateAccessToken(token: string): string {
  if (!/^[A-Za-z0-9._~-]{16,256}$/.test(token)) {
    throw new AppError(
      'invalid-input',
      'An access token is 16 to 256 letters, digits, dots, dashes, underscores or tildes; omit --token to get a random one',
    )
  }
  return token
}

/** The subprotocols a client offers: the RPC version and the token. */
export function subprotocolsFor(token: string): string[] {
  return [RPC_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token]
}

/** Reads the offered token from a raw Sec-WebSocket-Protocol header (comma-separated). */
export function offeredToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(',')) {
    const protocol = part.trim()
    if (protocol.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) return protocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length)
  }
  return undefined
}

/** Constant-time comparison; hashing first gives equal lengths, so the length of the token does not leak either. */
export function isSameToken(offered: string, expected: string): boolean {
  const offeredDigest = createHash('sha256').update(offered).digest()
  const expectedDigest = createHash('sha256').update(expected).digest()
  return timingSafeEqual(offeredDigest, expectedDigest)
}
