/**
 * The control center's copy of each imported bundle, under `<dataDir>/releases/<manifestSha256>/`. A bundle is
 * first copied into `releases/.staging-*` and verified there, never at its source, so the bytes that were checked
 * are the bytes that are kept (a source changed after the check cannot slip in).
 */
import { randomBytes } from 'node:crypto'
import { copyFile, lstat, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { AppError } from '../../../src-shared/errors.ts'
import type { RootMetadata } from '../../../src-shared/trust/metadata.ts'
import type { ReleaseBundleStore, StagedBundle, StagedVerification } from '../../ports/ReleaseBundleStore.ts'
import { writeFileDurably } from '../keystore/durableWrite.ts'
import { CHUNKS_DIR, FILES_DIR, parseBundlePath, RELEASE_FILE } from './bundleLayout.ts'
import { verifyBundle } from './verifyBundle.ts'

/** A model up to 2 GiB plus golden files and chunk lists. */
const MAX_BUNDLE_BYTES = 2 ** 31 + 256 * 1024 * 1024

interface Stage extends StagedBundle {
  /** Entries of the source that were not copied, with why: verify reports the first as 'unexpected-file'. */
  foreign: string[]
}

async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function syncFilesIn(folder: string): Promise<void> {
  for (const name of await readdir(folder)) {
    const handle = await open(join(folder, name), 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }
}

export function createFsReleaseBundleStore(releasesDir: string): ReleaseBundleStore {
  const root = resolve(releasesDir)
  const stages = new Map<string, Stage>()
  let isSwept = false

  async function newStage(): Promise<Stage> {
    await mkdir(root, { recursive: true })
    if (!isSwept) {
      // Stages left by a crash of an earlier run; only this process imports into this data directory.
      isSwept = true
      for (const name of await readdir(root)) if (name.startsWith('.staging-')) await rm(join(root, name), { recursive: true, force: true })
    }
    const path = join(root, `.staging-${randomBytes(8).toString('hex')}`)
    await mkdir(join(path, FILES_DIR), { recursive: true })
    await mkdir(join(path, CHUNKS_DIR))
    const stage: Stage = { path, foreign: [] }
    stages.set(path, stage)
    return stage
  }

  async function discard(staged: StagedBundle): Promise<void> {
    stages.delete(staged.path)
    await rm(staged.path, { recursive: true, force: true }).catch(() => undefined)
  }

  return {
    async stageFromPath(source) {
      const from = resolve(source)
      let isFolder: boolean
      try {
        isFolder = (await lstat(from)).isDirectory()
      } catch (error) {
        throw new AppError('not-found', `No release bundle at ${source} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`, { path: source })
      }
      if (!isFolder) throw new AppError('invalid-input', `${source} is not a folder; import the folder written by \`outpost release create\``, { path: source })
      const stage = await newStage()
      try {
        let totalBytes = 0
        const copy = async (relative: string) => {
          const stats = await lstat(join(from, relative))
          if (!stats.isFile()) {
            stage.foreign.push(`${relative} is a ${stats.isSymbolicLink() ? 'symbolic link' : 'folder or special file'}, not a regular file`)
            return
          }
          totalBytes += stats.size
          if (totalBytes > MAX_BUNDLE_BYTES) throw new AppError('invalid-input', `The bundle at ${source} is larger than ${MAX_BUNDLE_BYTES} bytes`, { path: source })
          await copyFile(join(from, relative), join(stage.path, relative))
        }
        for (const name of await readdir(from)) {
          if (name === RELEASE_FILE) {
            await copy(name)
          } else if ((name === FILES_DIR || name === CHUNKS_DIR) && (await lstat(join(from, name))).isDirectory()) {
            for (const child of await readdir(join(from, name))) await copy(`${name}/${child}`)
          } else {
            stage.foreign.push(`${JSON.stringify(name)} is not part of a release bundle (only ${RELEASE_FILE}, ${FILES_DIR}/ and ${CHUNKS_DIR}/ are)`)
          }
        }
        return stage
      } catch (error) {
        await discard(stage)
        throw error
      }
    },

    async stageFromUpload(files) {
      const seen = new Set<string>()
      let totalBytes = 0
      for (const file of files) {
        if (parseBundlePath(file.path) === undefined) {
          throw new AppError('path-unsafe', `Uploaded path ${JSON.stringify(file.path.slice(0, 200))} is not release.json, files/NAME or chunks/NAME with a safe NAME`, {
            path: file.path.slice(0, 200),
          })
        }
        if (seen.has(file.path)) throw new AppError('invalid-input', `${file.path} was uploaded twice`, { path: file.path })
        seen.add(file.path)
        totalBytes += file.bytes.length
      }
      if (totalBytes > MAX_BUNDLE_BYTES) throw new AppError('message-too-large', `The uploaded bundle is larger than ${MAX_BUNDLE_BYTES} bytes`)
      const stage = await newStage()
      try {
        for (const file of files) await writeFile(join(stage.path, file.path), file.bytes, { flag: 'wx' })
        return stage
      } catch (error) {
        await discard(stage)
        throw error
      }
    },

    async verify(staged: StagedBundle, trustedRoot: RootMetadata, nowMs: number): Promise<StagedVerification> {
      const foreign = stages.get(staged.path)?.foreign[0]
      if (foreign !== undefined) return { verdict: 'reject', code: 'unexpected-file', reason: foreign, stage: 'bundle' }
      return verifyBundle(staged.path, { root: trustedRoot, nowMs, signatures: 'pending' })
    },

    async commit(staged, manifestSha256, envelopeBytes) {
      if (!/^[0-9a-f]{64}$/.test(manifestSha256)) throw new AppError('internal', 'A release is stored under its manifest SHA-256')
      const target = join(root, manifestSha256)
      let exists = true
      try {
        await lstat(target)
      } catch {
        exists = false
      }
      if (exists) {
        // Same payload, so the same files: only the collected signatures change.
        await writeFileDurably(join(target, RELEASE_FILE), envelopeBytes, { mode: 0o644, overwrite: true })
        await discard(staged)
        return
      }
      await writeFileDurably(join(staged.path, RELEASE_FILE), envelopeBytes, { mode: 0o644, overwrite: true })
      await syncFilesIn(join(staged.path, FILES_DIR))
      await syncFilesIn(join(staged.path, CHUNKS_DIR))
      for (const folder of [join(staged.path, FILES_DIR), join(staged.path, CHUNKS_DIR), staged.path]) await syncFolder(folder)
      await rename(staged.path, target)
      stages.delete(staged.path)
      await syncFolder(root)
    },

    discard,
  }
}
