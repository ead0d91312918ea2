/**
 * Device passwords hashed with scrypt (memory-hard), stored as `scrypt$N$r$p$<salt b64>$<hash b64>` so the
 * parameters can be raised later without breaking stored hashes.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import type { CredentialHasher } from '../../ports/CredentialHasher.ts'

/** OWASP's scrypt minimum (N=2^17, r=8, p=1) costs 128 MiB per check; 2^14 keeps 50 simultaneous agent logins cheap. */
const defaultCost = { N: 2 ** 14, r: 8, p: 1 }
const KEY_BYTES = 32
const SALT_BYTES = 16

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { ...cost, maxmem: 256 * cost.N * cost.r }, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

export function createScryptCredentialHasher(cost = defaultCost): CredentialHasher {
  return {
    generatePassword: () => randomBytes(24).toString('base64url'),
    async hashPassword(password) {
      const salt = randomBytes(SALT_BYTES)
      const key = await derive(password, salt, cost)
      return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64')}$${key.toString('base64')}`
    },
    async verifyPassword(password, passwordHash) {
      const parts = passwordHash.split('$')
      if (parts.length !== 6 || parts[0] !== 'scrypt') return false
      const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
      if (![N, r, p].every((value) => Number.isInteger(value) && value > 0) || N > 2 ** 20 || r > 32 || p > 16) return false
      const salt = Buffer.from(parts[4] ?? '', 'base64')
      const expected = Buffer.from(parts[5] ?? '', 'base64')
      if (salt.length === 0 || expected.length !== KEY_BYTES) return false
      const actual = await derive(password, salt, { N, r, p })
      return timingSafeEqual(actual, expected)
    },
  }
}
