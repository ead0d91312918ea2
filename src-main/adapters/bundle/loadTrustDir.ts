/**
 * The trust material of a control center started with `--trust-dir DIR`: DIR/root.json (trusted as given, but it
 * must sign itself and be unexpired) and the director key file under DIR/keys/, the one whose keyid the root lists
 * in its director role. Offline root and release keys need not (and should not) be in this folder.
 */
import { readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { AppError, trustRejectionError } from '../../../src-shared/errors.ts'
import type { TrustMaterial } from '../../ports/ReleaseBundleStore.ts'
import { loadKey, readKeyFile } from '../keystore/keyFile.ts'
import { readTrustedRoot } from './readTrustedRoot.ts'

export const ROOT_FILE = 'root.json'
export const KEYS_DIR = 'keys'

export async function loadTrustDir(dir: string, passphrase: string, nowMs: number): Promise<TrustMaterial> {
  const trustDir = resolve(dir)
  const rootPath = join(trustDir, ROOT_FILE)
  const root = await readTrustedRoot(rootPath, nowMs)
  if (root.verdict === 'reject') throw trustRejectionError(root, { path: rootPath })
  const directorKeyids = new Set(root.root.roles.director.keyids)
  let names: string[]
  try {
    names = (await readdir(join(trustDir, KEYS_DIR))).filter((name) => name.endsWith('.key')).sort()
  } catch {
    names = []
  }
  for (const name of names) {
    const path = join(trustDir, KEYS_DIR, name)
    const header = await readKeyFile(path)
    if (header.role !== 'director' || !directorKeyids.has(header.keyid)) continue
    // loadKey recomputes the keyid from the decrypted key, so a relabelled file cannot pass as the director.
    const key = await loadKey(path, passphrase)
    return { root: root.root, rootEnvelopeBytes: root.rootBytes, director: { keyid: key.keyid, keyPair: key.keyPair } }
  }
  throw new AppError('not-found', `${join(trustDir, KEYS_DIR)} holds no director key listed in ${ROOT_FILE}; copy the director key file written by \`outpost keys init\` there`, {
    path: trustDir,
  })
}
