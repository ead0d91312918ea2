/** Device broker passwords: generated randomly, stored only as slow hashes. */
export interface CredentialHasher {
  /** A new random password (at least 128 bits), URL-safe text. */
  generatePassword(): string
  /** A self-describing slow hash (algorithm, parameters, salt and digest in one string). */
  hashPassword(password: string): Promise<string>
  /** Constant-time check of a password against hashPassword's output; false for malformed hashes. */
  verifyPassword(password: string, passwordHash: string): Promise<boolean>
}
