/** Temporary directories that are always removed, even when a benchmark throws. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export async function withTempDir<T>(prefix: string, body: (path: string) => Promise<T>): Promise<T> {
  const path = await mkdtemp(join(tmpdir(), `outpost-bench-${prefix}-`))
  try {
    return await body(path)
  } finally {
    await rm(path, { recursive: true, force: true, maxRetries: 3 })
  }
}
