/**
 * Model cards as the packaging recipes write them (issue 3, ModelCard in src-shared/contract/packagingContract.ts):
 * JSON lineage with the source model, the recipe, the tool version, metrics and the evaluation gate's verdict.
 * The card format is still growing, so this reads it leniently: every field is optional, and a card that is not
 * JSON (Markdown) simply has no lineage. Pure.
 */
import type { ReleaseLineage } from '../../../src-shared/contract/releasesContract.ts'

export interface ModelCardReading {
  /** Null when the card is not a JSON object (a Markdown card, for example). */
  lineage: ReleaseLineage | null
}

type JsonObject = Record<string, unknown>

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

function stringAt(object: JsonObject | undefined, keys: readonly string[], maxLength: number): string | null {
  if (object === undefined) return null
  for (const key of keys) {
    const value = object[key]
    if (typeof value === 'string' && value.length > 0) return value.slice(0, maxLength)
  }
  return null
}

function objectAt(object: JsonObject, keys: readonly string[]): JsonObject | undefined {
  for (const key of keys) {
    const value = object[key]
    if (isObject(value)) return value
  }
  return undefined
}

function reasonsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((reason): reason is string => typeof reason === 'string').slice(0, 32).map((reason) => reason.slice(0, 512)) : []
}

/**
 * Finds the gate verdict: `evaluation.isReleaseReady` (what `outpost model evaluate --update-card` records), a
 * `releaseReadiness` object at the top level or one level down, or a top-level `isReleaseReady`.
 */
function readiness(card: JsonObject): { isReleaseReady: boolean | null; reasons: string[] } {
  const evaluation = card['evaluation']
  if (isObject(evaluation) && typeof evaluation['isReleaseReady'] === 'boolean') {
    return { isReleaseReady: evaluation['isReleaseReady'], reasons: reasonsOf(evaluation['reasons']) }
  }
  const candidates = [card['releaseReadiness'], ...Object.values(card).filter(isObject).map((value) => value['releaseReadiness'])]
  for (const candidate of candidates) {
    if (isObject(candidate) && typeof candidate['isReleaseReady'] === 'boolean') {
      return { isReleaseReady: candidate['isReleaseReady'], reasons: reasonsOf(candidate['reasons']) }
    }
  }
  if (typeof card['isReleaseReady'] === 'boolean') return { isReleaseReady: card['isReleaseReady'], reasons: reasonsOf(card['reasons']) }
  return { isReleaseReady: null, reasons: [] }
}

/** Numbers under `metrics` and under `evaluation.metrics` (prefixed), the figures a reviewer wants beside the verdict. */
function metrics(card: JsonObject): Array<{ name: string; value: number }> {
  const evaluation = objectAt(card, ['evaluation'])
  const sources: Array<[string, JsonObject | undefined]> = [
    ['', objectAt(card, ['metrics'])],
    ['evaluation.', evaluation === undefined ? undefined : objectAt(evaluation, ['metrics'])],
  ]
  return sources
    .flatMap(([prefix, source]) =>
      Object.entries(source ?? {})
        .filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]))
        .map(([name, value]) => ({ name: `${prefix}${name}`.slice(0, 128), value })),
    )
    .slice(0, 64)
}

/** The SHA-256 of the model file the card describes (`output.sha256`), when it names one. */
export function cardOutputSha256(cardText: string): string | null {
  try {
    const json: unknown = JSON.parse(cardText)
    const sha = isObject(json) ? stringAt(objectAt(json, ['output']), ['sha256'], 64) : null
    return sha !== null && /^[0-9a-f]{64}$/.test(sha) ? sha : null
  } catch {
    return null
  }
}

export function readModelCard(cardText: string | null): ModelCardReading {
  if (cardText === null) return { lineage: null }
  let json: unknown
  try {
    json = JSON.parse(cardText)
  } catch {
    return { lineage: null }
  }
  if (!isObject(json)) return { lineage: null }
  const source = objectAt(json, ['source', 'sourceModel', 'baseline'])
  const sha = stringAt(source, ['sha256'], 64) ?? stringAt(json, ['sourceSha256'], 64)
  const recipeObject = objectAt(json, ['recipe'])
  const gate = readiness(json)
  return {
    lineage: {
      sourceSha256: sha !== null && /^[0-9a-f]{64}$/.test(sha) ? sha : null,
      sourceName: stringAt(source, ['name', 'fileName', 'path'], 256) ?? stringAt(json, ['sourceName', 'sourceFileName'], 256),
      recipe: stringAt(json, ['recipe'], 128) ?? stringAt(recipeObject, ['name', 'kind', 'recipe'], 128),
      toolVersion: stringAt(objectAt(json, ['tool']), ['version'], 128) ?? stringAt(json, ['toolVersion'], 128),
      isReleaseReady: gate.isReleaseReady,
      readinessReasons: gate.reasons,
      metrics: metrics(json),
    },
  }
}
