/**
 * Encrypted Ed25519 key files. The 32-byte seed is encrypted with AES-256-GCM under a key derived by scrypt
 * (parameters stored in the file, N ≥ 2^15, r = 8, p = 1). The public header (name, role, keyid, public key) is
 * the GCM associated data, so editing it breaks decryption instead of mislabelling a key.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { AppError } from '../../../src-shared/errors.ts'
import { bytesEqual, decodeBase64, decodeHex, encodeBase64, encodeHex, encodeUtf8, type Sha256 } from '../../../src-shared/trust/bytes.ts'
import { keyIdOf, keyPairFromSeed, SEED_BYTES, type SigningKeyPair } from '../../../src-shared/trust/ed25519.ts'
import { assertNewPassphrase } from './passphrase.ts'
import { writeFileDurably } from './durableWrite.ts'

export const nodeSha256: Sha256 = (bytes) => new Uint8Array(createHash('sha256').update(bytes).digest())

export const keyRoles = ['root', 'release', 'director', 'device'] as const
export type KeyRole = (typeof keyRoles)[number]

export const KEY_FILE_FORMAT = 'outpost-key/1'
export const DEFAULT_SCRYPT = { n: 2 ** 15, r: 8, p: 1 } as const
/** Bounds on stored parameters: below them the file is too weak; above, opening it could exhaust memory. */
const SCRYPT_LOG2_N_MIN = 15
const SCRYPT_LOG2_N_MAX = 20

const Base64Bytes = (length: number) =>
  z.string().refine((text) => decodeBase64(text)?.length === length, { message: `must be ${length} bytes of base64` })

export const KeyFile = z.strictObject({
  format: z.literal(KEY_FILE_FORMAT),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  role: z.enum(keyRoles),
  keyid: z.string().regex(/^[0-9a-f]{64}$/),
  public_key: z.string().regex(/^[0-9a-f]{64}$/),
  created_at: z.iso.datetime(),
  kdf: z.strictObject({
    name: z.literal('scrypt'),
    n: z.int().refine((n) => Number.isInteger(Math.log2(n)) && Math.log2(n) >= SCRYPT_LOG2_N_MIN && Math.log2(n) <= SCRYPT_LOG2_N_MAX, {
      message: `n is a power of two from 2^${SCRYPT_LOG2_N_MIN} to 2^${SCRYPT_LOG2_N_MAX}`,
    }),
    r: z.int().min(8).max(32),
    p: z.int().min(1).max(16),
    salt: Base64Bytes(16),
  }),
  cipher: z.strictObject({ name: z.literal('aes-256-gcm'), iv: Base64Bytes(12), tag: Base64Bytes(16) }),
  ciphertext: Base64Bytes(SEED_BYTES),
})
export type KeyFile = z.infer<typeof KeyFile>

export interface OpenedKey {
  name: string
  role: KeyRole
  keyid: string
  keyPair: SigningKeyPair
}

function deriveKey(passphrase: string, salt: Uint8Array, params: { n: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolvePromise, rejectPromise) => {
    scrypt(passphrase.normalize('NFC'), salt, 32, { N: params.n, r: params.r, p: params.p, maxmem: 256 * params.n * params.r * params.p + 16 * 1024 * 1024 }, (error, key) => {
      if (error === null) resolvePromise(key)
      else rejectPromise(error)
    })
  })
}

function associatedData(header: Pick<KeyFile, 'format' | 'name' | 'role' | 'keyid' | 'public_key'>): Uint8Array {
  return encodeUtf8(JSON.stringify([header.format, header.name, header.role, header.keyid, header.public_key]))
}

export interface CreateKeyInput {
  name: string
  role: KeyRole
  passphrase: string
  nowMs: number
  /** For tests and imports; normally 32 fresh random bytes. */
  seed?: Uint8Array
  scrypt?: { n: number; r: number; p: number }
}

export async function createKeyFile(input: CreateKeyInput): Promise<{ keyFile: KeyFile; key: OpenedKey }> {
  assertNewPassphrase(input.passphrase)
  const seed = input.seed ?? new Uint8Array(randomBytes(SEED_BYTES))
  const keyPair = keyPairFromSeed(seed)
  const params = input.scrypt ?? DEFAULT_SCRYPT
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const header = {
    format: KEY_FILE_FORMAT,
    name: input.name,
    role: input.role,
    keyid: keyIdOf(nodeSha256, keyPair.publicKey),
    public_key: encodeHex(keyPair.publicKey),
  } as const
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(input.passphrase, salt, params), iv)
  cipher.setAAD(associatedData(header))
  const ciphertext = Buffer.concat([cipher.update(seed), cipher.final()])
  const keyFile = KeyFile.parse({
    ...header,
    created_at: new Date(input.nowMs).toISOString(),
    kdf: { name: 'scrypt', n: params.n, r: params.r, p: params.p, salt: encodeBase64(salt) },
    cipher: { name: 'aes-256-gcm', iv: encodeBase64(iv), tag: encodeBase64(cipher.getAuthTag()) },
    ciphertext: encodeBase64(ciphertext),
  })
  return { keyFile, key: { name: header.name, role: header.role, keyid: header.keyid, keyPair } }
}

/** Decrypts a parsed key file; a wrong passphrase and a tampered file are both 'unauthorized'. */
export async function openKeyFile(keyFile: KeyFile, passphrase: string, label = keyFile.name): Promise<OpenedKey> {
  const decode = (text: string) => decodeBase64(text) ?? new Uint8Array()
  const decipher = createDecipheriv('aes-256-gcm', await deriveKey(passphrase, decode(keyFile.kdf.salt), keyFile.kdf), decode(keyFile.cipher.iv))
  decipher.setAAD(associatedData(keyFile))
  decipher.setAuthTag(decode(keyFile.cipher.tag))
  let seed: Uint8Array
  try {
    seed = new Uint8Array(Buffer.concat([decipher.update(decode(keyFile.ciphertext)), decipher.final()]))
  } catch {
    throw new AppError('unauthorized', `The passphrase does not open key ${label}, or the file was changed; check the passphrase source`, { key: label })
  }
  const keyPair = keyPairFromSeed(seed)
  const expectedPublicKey = decodeHex(keyFile.public_key) ?? new Uint8Array()
  if (!bytesEqual(keyPair.publicKey, expectedPublicKey) || keyIdOf(nodeSha256, keyPair.publicKey) !== keyFile.keyid) {
    throw new AppError('invalid-input', `Key file ${label} decrypts to a different key than its header names`, { key: label })
  }
  return { name: keyFile.name, role: keyFile.role, keyid: keyFile.keyid, keyPair }
}

export async function readKeyFile(path: string): Promise<KeyFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown error'
    throw new AppError('not-found', `Cannot read key file ${path} (${code})`, { path })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new AppError('invalid-input', `${path} is not an Outpost key file (not JSON)`, { path })
  }
  const parsed = KeyFile.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new AppError('invalid-input', `${path} is not a valid Outpost key file (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`, { path })
  }
  return parsed.data
}

export async function loadKey(path: string, passphrase: string): Promise<OpenedKey> {
  return openKeyFile(await readKeyFile(path), passphrase, path)
}

/** Writes a key file with mode 0600, durably, never over an existing file. */
export async function writeKeyFile(path: string, keyFile: KeyFile): Promise<void> {
  await writeFileDurably(path, encodeUtf8(`${JSON.stringify(keyFile, null, 2)}\n`), { mode: 0o600, overwrite: false })
}
