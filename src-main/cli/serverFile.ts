import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { z } from 'zod'

/**
 * While `outpost serve` runs it leaves its address and token in `<dataDir>/headless-server.json` (mode 0600, like
 * the database next to it), so other commands of the same user find it without copying the token around.
 */
export const SERVER_FILE_NAME = 'headless-server.json'

export const ServerFile = z.object({
  uiUrl: z.string(),
  rpcUrl: z.string(),
  token: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
})
export type ServerFile = z.infer<typeof ServerFile>

export function serverFilePath(dataDir: string): string {
  return path.join(dataDir, SERVER_FILE_NAME)
}

export function writeServerFile(dataDir: string, content: ServerFile): void {
  const filePath = serverFilePath(dataDir)
  writeFileSync(filePath, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 })
  // writeFileSync's mode applies only to a new file; an older one may have been created looser.
  chmodSync(filePath, 0o600)
}

/** The file's content, or undefined when there is none or it is not ours to read. */
export function readServerFile(dataDir: string): ServerFile | undefined {
  try {
    const parsed = ServerFile.safeParse(JSON.parse(readFileSync(serverFilePath(dataDir), 'utf8')))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** Removes the file if it still describes this process (a second server on the same data dir may have replaced it). */
export function removeServerFile(dataDir: string, pid: number): void {
  if (readServerFile(dataDir)?.pid === pid) rmSync(serverFilePath(dataDir), { force: true })
}
