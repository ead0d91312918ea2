import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AppError } from '../../../src-shared/errors.ts'
import { makeTempDir } from '../testSupport/testAgent.ts'
import { createFsStore, writeFileAtomic } from './fsStore.ts'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

const pointer = {
  slot: 'b' as const,
  model: { modelId: 'm-0123456789ab', name: 'n', version: '1', sha256: 'a'.repeat(64) },
  sizeBytes: 3,
  activatedAt: '2026-01-01T00:00:00.000Z',
}

describe('fsStore', () => {
  let dir: { path: string; remove: () => Promise<void> }
  beforeEach(async () => {
    dir = await makeTempDir('outpost-fsstore-')
  })
  afterEach(async () => {
    await dir.remove()
  })

  it('replaces files atomically and leaves no temporary files behind', async () => {
    const path = join(dir.path, 'x.json')
    await writeFileAtomic(path, 'one')
    await writeFileAtomic(path, 'two')
    expect(await readFile(path, 'utf8')).toBe('two')
    expect(await readdir(dir.path)).toEqual(['x.json'])
  })

  it('starts with empty state and round-trips state and the active pointer', async () => {
    const store = createFsStore(join(dir.path, 'agent'))
    await store.open()
    expect(await store.loadState()).toEqual({ lastDirectiveSeq: 0, reportSeq: 0, install: null, badReleases: [] })
    expect(await store.loadActive()).toBeNull()
    await store.saveState({ lastDirectiveSeq: 7, reportSeq: 3, install: null, badReleases: ['b'.repeat(64)] })
    expect(await store.loadState()).toEqual({ lastDirectiveSeq: 7, reportSeq: 3, install: null, badReleases: ['b'.repeat(64)] })
    await store.saveActive(pointer)
    expect(await store.loadActive()).toEqual(pointer)
    await store.saveCommitted({ ...pointer, slot: 'a' })
    expect(await store.loadCommitted()).toEqual({ ...pointer, slot: 'a' })
    await store.clearActive()
    await store.clearActive()
    expect(await store.loadActive()).toBeNull()
    expect(await store.loadCommitted()).toEqual({ ...pointer, slot: 'a' })
  })

  it('reads a data dir from before the commit record: active.json is the committed model, the target slot the other', async () => {
    const store = createFsStore(dir.path)
    await store.open()
    const legacyPointer = { slot: 'a', model: pointer.model, sizeBytes: 3, committedAt: '2026-01-01T00:00:00.000Z' }
    await writeFile(join(dir.path, 'active.json'), JSON.stringify(legacyPointer))
    const directive = {
      v: 1,
      deviceId: 'd-1',
      seq: 2,
      issuedAt: '2026-01-01T00:00:00.000Z',
      action: 'install',
      artifact: { ...pointer.model, format: 'onnx', sizeBytes: 3, chunkSizeBytes: 3, chunkCount: 1, chunkListSha256: 'c'.repeat(64) },
    }
    const install = { directive, state: 'downloading', errorCode: null, message: null }
    await writeFile(join(dir.path, 'state.json'), JSON.stringify({ lastDirectiveSeq: 2, reportSeq: 0, install }))
    const expected = { slot: 'a', model: pointer.model, sizeBytes: 3, activatedAt: '2026-01-01T00:00:00.000Z' }
    expect(await store.loadCommitted()).toEqual(expected)
    expect((await store.loadState()).install).toMatchObject({ state: 'downloading', targetSlot: 'b', trialCount: 0, transitions: 0 })
    // open() writes the commit record, so the pointer stays the rollback target once new-style state is saved.
    await store.open()
    expect(JSON.parse(await readFile(join(dir.path, 'committed.json'), 'utf8'))).toEqual(expected)
  })

  it('reports a corrupt state file with database-corrupt instead of starting fresh', async () => {
    const store = createFsStore(dir.path)
    await store.open()
    await writeFile(join(dir.path, 'state.json'), '{"lastDirectiveSeq": "nine"')
    await expect(store.loadState()).rejects.toMatchObject({ code: 'database-corrupt' })
  })

  it('refuses a data dir below a regular file with data-dir-unwritable', async () => {
    await writeFile(join(dir.path, 'file'), 'x')
    const error = await createFsStore(join(dir.path, 'file', 'agent')).open().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('data-dir-unwritable')
  })

  it('stages chunks at their offsets, resumes progress, promotes into a slot and verifies it on read', async () => {
    const store = createFsStore(dir.path)
    await store.open()
    const bytes = new TextEncoder().encode('0123456789abcdefghij')
    const sha = sha256(bytes)
    await store.saveChunkList(sha, new TextEncoder().encode('{"list":true}'))
    await store.writeStagingChunk(sha, 10, bytes.subarray(10, 20))
    await store.resetVerifiedChunks(sha)
    await store.recordVerifiedChunk(sha, 1)
    await store.recordVerifiedChunk(sha, 1)
    expect(await store.loadDownload(sha)).toEqual({ chunkListBytes: new TextEncoder().encode('{"list":true}'), verifiedChunks: [1] })
    await store.writeStagingChunk(sha, 0, bytes.subarray(0, 10))
    expect(new TextDecoder().decode(await store.readStagingRange(sha, 5, 10))).toBe('56789abcde')
    expect(await store.finishStaging(sha, bytes.byteLength)).toBe(sha)
    await store.promoteStaging(sha, 'b')
    expect(await store.loadDownload(sha)).toBeNull()
    expect(await store.hashSlot('b')).toBe(sha)
    expect(await store.hashSlot('a')).toBeNull()
    expect(await store.readSlotVerified('b', sha)).toEqual(bytes)
    await expect(store.readSlotVerified('b', 'f'.repeat(64))).rejects.toMatchObject({ code: 'artifact-corrupt' })
    await expect(store.readSlotVerified('a', sha)).rejects.toMatchObject({ code: 'not-found' })
    expect(await readdir(join(dir.path, 'staging'))).toEqual([])
  })
})
