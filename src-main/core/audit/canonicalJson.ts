/**
 * Canonical JSON for hashing: object keys sorted by UTF-16 code units, no whitespace, numbers as ECMAScript prints
 * them (RFC 8785's rules for the value types audit entries use). The same value always gives the same bytes.
 */
import { BugError } from '../../../src-shared/errors.ts'

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new BugError(`Cannot hash the non-finite number ${value}`)
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map((item: unknown) => canonicalJson(item)).join(',')}]`
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      // An undefined field is absent, as JSON.stringify has it; keeping it would make {a: undefined} differ from {}.
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`
  }
  throw new BugError(`Cannot hash a value of type ${typeof value}`)
}
