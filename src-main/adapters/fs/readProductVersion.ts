import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The version in Outpost's package.json, found by walking up from this file. Works from the source tree and from
 * a bundle in out/main/, whose package.json is two levels up as well.
 */
export function readProductVersion(startUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(startUrl))
  for (let depth = 0; depth < 8; depth++) {
    try {
      const parsed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown }
      if (parsed.name === 'outpost' && typeof parsed.version === 'string') return parsed.version
    } catch {
      // No package.json at this level: keep walking up.
    }
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return '0.0.0-unknown'
}
