/**
 * The default release counter when `outpost release create` gets no --counter. It has to grow with every new
 * release of a model without looking at a clock or at other bundles (signing is offline), so it is derived from
 * the version: MAJOR.MINOR.PATCH → MAJOR × 1,000,000 + MINOR × 1,000 + PATCH, with MINOR and PATCH below 1000.
 * Newer versions therefore always get higher counters. Anything else (pre-release tags, four parts, 0.0.0) must
 * pass --counter explicitly. Pure.
 */

export const MAX_DERIVED_MAJOR = 9_000_000

export type CounterFromVersion = { ok: true; counter: number } | { ok: false; reason: string }

export function counterFromVersion(version: string): CounterFromVersion {
  const match = /^(\d{1,7})\.(\d{1,3})\.(\d{1,3})$/.exec(version) ?? /^(\d{1,7})\.(\d{1,3})()$/.exec(version) ?? /^(\d{1,7})()()$/.exec(version)
  if (match === null) {
    return { ok: false, reason: `version '${version}' is not MAJOR[.MINOR[.PATCH]] with MINOR and PATCH below 1000` }
  }
  const [major, minor, patch] = [match[1], match[2], match[3]].map((part) => (part === undefined || part === '' ? 0 : Number(part))) as [number, number, number]
  if (major > MAX_DERIVED_MAJOR) return { ok: false, reason: `major version ${major} is above ${MAX_DERIVED_MAJOR}` }
  const counter = major * 1_000_000 + minor * 1_000 + patch
  if (counter === 0) return { ok: false, reason: 'version 0.0.0 gives counter 0, and counters start at 1' }
  return { ok: true, counter }
}
