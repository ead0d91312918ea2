/**
 * AgentStore on the local file system. Every file that must survive power loss is replaced with
 * write temp → fsync → rename → fsync dir (anchors-security.md §10.7, Mender's rootfs-image pattern).
 *
 * Layout under the data dir: state.json (install state machine), active.json (the served slot), committed.json (the
 * commit record: last committed slot), staging/<sha>.{part,chunklist.json,progress}, slots/{a,b}/model.onnx.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import { ActiveModel } from '../../../src-shared/domain/device.ts'
import { AppError } from '../../../src-shared/errors.ts'
import { Directive } from '../../../src-shared/protocol/messages.ts'
import { INSTALL_PHASES, otherSlot } from '../core/installMachine.ts'
import type { ActivePointer, AgentState, AgentStore, DownloadProgress, Slot } from '../ports/agentStore.ts'

const SlotName = z.enum(['a', 'b'])

const StateFile = z.object({
  lastDirectiveSeq: z.number().int().nonnegative(),
  reportSeq: z.number().int().nonnegative(),
  install: z
    .object({
      directive: Directive,
      state: z.enum(INSTALL_PHASES),
      // Absent in files written before the A/B machine: derived from the committed slot on load.
      targetSlot: SlotName.optional(),
      trialCount: z.number().int().nonnegative().default(0),
      transitions: z.number().int().nonnegative().default(0),
      errorCode: z.string().nullable(),
      message: z.string().nullable(),
    })
    .nullable(),
  badReleases: z.array(z.string().regex(/^[0-9a-f]{64}$/)).default([]),
})

const PointerFile = z
  .object({
    slot: SlotName,
    model: ActiveModel,
    sizeBytes: z.number().int().nonnegative(),
    activatedAt: z.string().optional(),
    // The field's name before committed.json existed.
    committedAt: z.string().optional(),
  })
  .transform(({ committedAt, activatedAt, ...pointer }): ActivePointer => ({ ...pointer, activatedAt: activatedAt ?? committedAt ?? '' }))

const emptyState: AgentState = { lastDirectiveSeq: 0, reportSeq: 0, install: null, badReleases: [] }

function errnoOf(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}

/** Turns file-system failures into the codes the operator can act on; anything else is rethrown as is. */
function toStorageError(error: unknown, path: string): unknown {
  const code = errnoOf(error)
  if (code === 'ENOSPC' || code === 'EDQUOT') return new AppError('disk-full', `No space left to write ${path}`, { path })
  if (error instanceof AppError) return error
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'EEXIST') {
    return new AppError('data-dir-unwritable', `Cannot write ${path} (${code}); choose a writable --data-dir`, { path, errno: code })
  }
  return error
}

async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * mkdir -p, one level at a time. Node's recursive mkdir never returns for some unwritable parents
 * (e.g. under /proc, where ENOENT persists), so the walk is done here with plain mkdir calls.
 */
export async function ensureDirectory(directory: string): Promise<void> {
  const absolute = resolve(directory)
  const missing: string[] = []
  for (let current = absolute; ; current = dirname(current)) {
    try {
      const info = await stat(current)
      if (!info.isDirectory()) throw new AppError('data-dir-unwritable', `${current} is not a directory; choose another --data-dir`, { path: current })
      break
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw toStorageError(error, current)
      missing.unshift(current)
      if (dirname(current) === current) break
    }
  }
  for (const path of missing) {
    try {
      await mkdir(path, { mode: 0o700 })
    } catch (error) {
      if (errnoOf(error) === 'EEXIST') continue
      if (errnoOf(error) === 'ENOENT') {
        throw new AppError('data-dir-unwritable', `Cannot create ${path}; choose a writable --data-dir`, { path })
      }
      throw toStorageError(error, path)
    }
  }
}

let temporarySerial = 0

/** Replaces `path` with `bytes` so that a crash leaves either the old or the new content, never a mix. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  // A unique temporary name, so two writers of one file never interleave inside the same temporary file.
  temporarySerial += 1
  const temporaryPath = `${path}.${temporarySerial}.tmp`
  try {
    const handle = await open(temporaryPath, 'w', 0o600)
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporaryPath, path)
    await fsyncDirectory(dirname(path))
  } catch (error) {
    await rm(temporaryPath, { force: true }).catch(() => undefined)
    throw toStorageError(error, path)
  }
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path)
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null
    throw error
  }
}

function parseJsonFile<S extends z.ZodType>(schema: S, bytes: Buffer, path: string): z.infer<S> {
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new AppError('database-corrupt', `Agent file ${path} is not valid JSON; move it away to start fresh`, { path })
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    throw new AppError('database-corrupt', `Agent file ${path} has an unexpected shape; move it away to start fresh`, { path })
  }
  return parsed.data
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

export function createFsStore(dataDir: string): AgentStore {
  const statePath = join(dataDir, 'state.json')
  const activePath = join(dataDir, 'active.json')
  const committedPath = join(dataDir, 'committed.json')
  const stagingDir = join(dataDir, 'staging')
  const slotDir = (slot: Slot) => join(dataDir, 'slots', slot)
  const slotPath = (slot: Slot) => join(slotDir(slot), 'model.onnx')
  const partPath = (sha256: string) => join(stagingDir, `${sha256}.part`)
  const chunkListPath = (sha256: string) => join(stagingDir, `${sha256}.chunklist.json`)
  /** Append-only log, one verified chunk index per line; a torn last line is ignored. */
  const progressPath = (sha256: string) => join(stagingDir, `${sha256}.progress`)

  const readStateFile = async () => {
    const bytes = await readIfExists(statePath)
    return bytes === null ? null : parseJsonFile(StateFile, bytes, statePath)
  }

  const loadCommitted = async (): Promise<ActivePointer | null> => {
    const bytes = await readIfExists(committedPath)
    if (bytes !== null) return parseJsonFile(PointerFile, bytes, committedPath)
    // Before the commit record existed, active.json was written only on commit: an install record without a target
    // slot marks such a data dir, and its active pointer is the committed model.
    const legacy = await readIfExists(activePath)
    if (legacy === null) return null
    const state = await readStateFile()
    return state?.install?.targetSlot === undefined ? parseJsonFile(PointerFile, legacy, activePath) : null
  }

  return {
    dataDir,

    async open() {
      for (const directory of [dataDir, stagingDir, slotDir('a'), slotDir('b')]) await ensureDirectory(directory)
      const checkPath = join(dataDir, '.write-check')
      await writeFileAtomic(checkPath, 'ok')
      await unlink(checkPath)
      // Migration: write the commit record a data dir from before it implies; unreadable files are loadState's to report.
      if ((await readIfExists(committedPath)) === null) {
        const legacy = await loadCommitted().catch(() => null)
        if (legacy !== null) await writeFileAtomic(committedPath, JSON.stringify(legacy))
      }
    },

    async loadState() {
      const state = await readStateFile()
      if (state === null) return { ...emptyState, badReleases: [] }
      const install = state.install
      if (install === null) return { ...state, install: null }
      const directive = install.directive
      if (directive.action !== 'install') {
        throw new AppError('database-corrupt', `Agent file ${statePath} records a directive that cannot be installed`, { path: statePath })
      }
      let targetSlot = install.targetSlot
      if (targetSlot === undefined) {
        const committed = await loadCommitted()
        targetSlot = committed === null ? 'a' : otherSlot(committed.slot)
      }
      return { ...state, install: { ...install, directive, targetSlot } }
    },

    async saveState(state) {
      await writeFileAtomic(statePath, JSON.stringify(state))
    },

    async loadActive() {
      const bytes = await readIfExists(activePath)
      return bytes === null ? null : parseJsonFile(PointerFile, bytes, activePath)
    },

    async saveActive(pointer: ActivePointer) {
      await writeFileAtomic(activePath, JSON.stringify(pointer))
    },

    async clearActive() {
      try {
        await unlink(activePath)
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') return
        throw toStorageError(error, activePath)
      }
      await fsyncDirectory(dataDir)
    },

    loadCommitted,

    async saveCommitted(pointer: ActivePointer) {
      await writeFileAtomic(committedPath, JSON.stringify(pointer))
    },

    async loadDownload(sha256): Promise<DownloadProgress | null> {
      const chunkListBytes = await readIfExists(chunkListPath(sha256))
      if (chunkListBytes === null) return null
      const progressBytes = await readIfExists(progressPath(sha256))
      const partExists = await stat(partPath(sha256)).then(
        () => true,
        () => false,
      )
      const verifiedChunks =
        progressBytes === null || !partExists
          ? []
          : [...new Set(progressBytes.toString('utf8').split('\n').filter((line) => /^(0|[1-9][0-9]{0,8})$/.test(line)).map(Number))]
      return { chunkListBytes: new Uint8Array(chunkListBytes), verifiedChunks }
    },

    async saveChunkList(sha256, chunkListBytes) {
      await writeFileAtomic(chunkListPath(sha256), chunkListBytes)
    },

    async resetVerifiedChunks(sha256) {
      await writeFileAtomic(progressPath(sha256), '')
    },

    async recordVerifiedChunk(sha256, index) {
      const path = progressPath(sha256)
      try {
        const handle = await open(path, 'a')
        try {
          await handle.write(`${index}\n`)
          await handle.datasync()
        } finally {
          await handle.close()
        }
      } catch (error) {
        throw toStorageError(error, path)
      }
    },

    async writeStagingChunk(sha256, offsetBytes, bytes) {
      const path = partPath(sha256)
      try {
        // 'a' would ignore the offset on Linux; 'r+' needs the file, so create it first without truncating.
        await (await open(path, 'a')).close()
        const handle = await open(path, 'r+')
        try {
          await handle.write(bytes, 0, bytes.byteLength, offsetBytes)
          await handle.datasync()
        } finally {
          await handle.close()
        }
      } catch (error) {
        throw toStorageError(error, path)
      }
    },

    async readStagingRange(sha256, offsetBytes, lengthBytes) {
      const handle = await open(partPath(sha256), 'r')
      try {
        const buffer = new Uint8Array(lengthBytes)
        const { bytesRead } = await handle.read(buffer, 0, lengthBytes, offsetBytes)
        return buffer.subarray(0, bytesRead)
      } finally {
        await handle.close()
      }
    },

    async finishStaging(sha256, sizeBytes) {
      const path = partPath(sha256)
      const handle = await open(path, 'r+')
      try {
        await handle.truncate(sizeBytes)
        await handle.sync()
      } finally {
        await handle.close()
      }
      return sha256OfFile(path)
    },

    async hasStaging(sha256) {
      return stat(partPath(sha256)).then(
        () => true,
        () => false,
      )
    },

    async promoteStaging(sha256, slot) {
      const target = slotPath(slot)
      try {
        await rename(partPath(sha256), target)
        await fsyncDirectory(slotDir(slot))
        await fsyncDirectory(stagingDir)
      } catch (error) {
        throw toStorageError(error, target)
      }
      await rm(chunkListPath(sha256), { force: true })
      await rm(progressPath(sha256), { force: true })
    },

    async discardDownload(sha256) {
      for (const path of [partPath(sha256), chunkListPath(sha256), progressPath(sha256)]) await rm(path, { force: true })
    },

    async hashSlot(slot) {
      try {
        return await sha256OfFile(slotPath(slot))
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') return null
        throw error
      }
    },

    async readSlotVerified(slot, sha256) {
      const bytes = await readIfExists(slotPath(slot))
      if (bytes === null) throw new AppError('not-found', `Slot ${slot} holds no model`, { slot })
      const actual = createHash('sha256').update(bytes).digest('hex')
      if (actual !== sha256) {
        throw new AppError('artifact-corrupt', `The model in slot ${slot} does not match its recorded hash`, { slot, expected: sha256, actual })
      }
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    },
  }
}
