import { describe, expect, it } from 'vitest'
import { createScryptCredentialHasher } from './scryptCredentialHasher.ts'

describe('scryptCredentialHasher', () => {
  const hasher = createScryptCredentialHasher()

  it('verifies the right password and refuses a wrong one', async () => {
    const password = hasher.generatePassword()
    expect(password.length).toBeGreaterThanOrEqual(22)
    const hash = await hasher.hashPassword(password)
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/)
    expect(hash).not.toContain(password)
    expect(await hasher.verifyPassword(password, hash)).toBe(true)
    expect(await hasher.verifyPassword(`${password}x`, hash)).toBe(false)
  })

  it('salts each hash and rejects malformed ones', async () => {
    expect(await hasher.hashPassword('same')).not.toBe(await hasher.hashPassword('same'))
    for (const malformed of ['', 'plain', 'scrypt$1$8$1$$', 'scrypt$99999999$8$1$c2FsdA==$aGFzaA==', 'bcrypt$1$2$3$4$5']) {
      expect(await hasher.verifyPassword('same', malformed)).toBe(false)
    }
  })
})
