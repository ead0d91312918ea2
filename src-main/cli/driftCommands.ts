/** `outpost drift report`: drift numbers straight from the database (read-only), for reviewers and notebooks. */
import path from 'node:path'
import { DriftGrouping, type DriftHeatmap, type DriftRow } from '../../src-shared/domain/drift.ts'
import { AppError } from '../../src-shared/errors.ts'
import { DATABASE_FILE_NAME, openDatabaseReadOnly } from '../adapters/sqlite/openDatabase.ts'
import { createSqliteTelemetryQueries, enableMappedReads, readDriftSettings } from '../adapters/sqlite/sqliteTelemetryStore.ts'
import type { CliContext } from './cliContext.ts'
import { resolveDataDir } from './connectToControlCenter.ts'
import { parseCommandLine, parseCount, UsageError } from './flags.ts'
import { formatInstant, formatTable } from './formatTable.ts'
import { usage } from './usage.ts'

const DEFAULT_SINCE_MS = 24 * 60 * 60 * 1000
const MAX_ROWS = 10_000
const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000 }

/** An ISO instant, or a duration back from now: 30m, 6h, 7d. */
export function parseInstantOrAgo(value: string, flag: string, nowMs: number): number {
  const relative = /^(\d{1,6})([mhd])$/.exec(value)
  if (relative) return nowMs - Number(relative[1]) * (UNIT_MS[relative[2] ?? 'h'] ?? 0)
  const absolute = Date.parse(value)
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(absolute)) return absolute
  throw new UsageError(`--${flag} takes an ISO time such as 2025-06-01T12:00:00Z or a duration back from now such as 30m, 6h or 7d, not '${value}'`)
}

/** `--by`: device, or a cohort attribute; `cohort` means tags (sites, customers). */
function parseGrouping(value: string | undefined): DriftGrouping {
  if (value === undefined) return 'device'
  if (value === 'cohort') return 'tag'
  const parsed = DriftGrouping.safeParse(value)
  if (!parsed.success) throw new UsageError(`--by takes device, cohort (tags), tag, arch, executionProvider or modelVersion, not '${value}'`)
  return parsed.data
}

function formatScore(score: number | null): string {
  return score === null ? '-' : score.toFixed(3)
}

/** The drifting features of a row (or else its largest scores), largest first: "f03 0.412*, f01 0.020". */
function topFeatures(row: DriftRow, count: number): string {
  const scored = row.cells.filter((cell) => cell.score !== null).sort((left, right) => (right.score ?? 0) - (left.score ?? 0))
  return (
    scored
      .slice(0, count)
      .map((cell) => `${cell.feature} ${formatScore(cell.score)}${cell.verdict === 'drift' ? '*' : ''}`)
      .join(', ') || '-'
  )
}

export function formatDriftReport(heatmap: DriftHeatmap): string {
  const header = [
    `Release ${heatmap.releaseLabel} (model ${heatmap.modelSha256.slice(0, 12)}, bins ${heatmap.binsSha256.slice(0, 12)})`,
    `Range ${formatInstant(heatmap.effectiveFromAt)} .. ${formatInstant(heatmap.toAt)}; ${heatmap.metric} >= ${heatmap.threshold} drifts a feature; no verdict under ${heatmap.minSamples} samples`,
    `${heatmap.totalRows} ${heatmap.by === 'device' ? 'devices' : `cohorts by ${heatmap.by}`}: ${heatmap.driftingRows} drifting, ${heatmap.insufficientRows} with too few samples`,
  ]
  const featureLine = heatmap.features
    .map((feature, index) => [feature, heatmap.featureDriftCounts[index] ?? 0] as const)
    .filter(([, count]) => count > 0)
    .sort((left, right) => right[1] - left[1])
    .map(([feature, count]) => `${feature} (${count})`)
  header.push(`Features drifting somewhere: ${featureLine.length === 0 ? 'none' : featureLine.join(', ')}`)
  if (heatmap.rows.length === 0) return [...header, '', 'No drift counts in this range.'].join('\n')
  const table = formatTable(
    [heatmap.by === 'device' ? 'DEVICE' : heatmap.by.toUpperCase(), 'DEVICES', 'SAMPLES', 'DRIFT SHARE', 'VERDICT', 'PREDICTIONS', 'TOP FEATURES (* drifts)'],
    heatmap.rows.map((row) => [
      row.key,
      String(row.deviceCount),
      String(row.cells[0]?.sampleCount ?? 0),
      row.driftShare === null ? '-' : `${Math.round(row.driftShare * 100)}%`,
      row.verdict,
      row.prediction ? `${formatScore(row.prediction.score)}${row.prediction.verdict === 'drift' ? '*' : ''}` : '-',
      topFeatures(row, 3),
    ]),
  )
  return [...header, '', table].join('\n')
}

/** `outpost drift report` */
export async function runDriftReport(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine(
    'drift report',
    args,
    {
      release: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      by: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
    },
    false,
  )
  if (values.help) {
    context.stdout(usage.driftReport)
    return 0
  }
  if (values.release === undefined) throw new UsageError('Missing --release; run `outpost drift report --help`')
  const nowMs = Date.now()
  const toMs = values.until === undefined ? nowMs : parseInstantOrAgo(values.until, 'until', nowMs)
  const fromMs = values.since === undefined ? toMs - DEFAULT_SINCE_MS : parseInstantOrAgo(values.since, 'since', nowMs)
  if (fromMs >= toMs) throw new UsageError('--since must be before --until')
  const by = parseGrouping(values.by)
  const limit = values.limit === undefined ? MAX_ROWS : parseCount(values.limit, 'limit', 1, MAX_ROWS)
  const dataDir = resolveDataDir(values['data-dir'], context)

  const db = openReadOnly(dataDir)
  try {
    enableMappedReads(db)
    const queries = createSqliteTelemetryQueries(db)
    const { modelSha256 } = await queries.resolveRelease(values.release)
    const heatmap = await queries.heatmap(modelSha256, { fromMs, toMs, nowMs }, { by, settings: readDriftSettings(db), limit })
    context.stdout(values.json ? JSON.stringify(heatmap, null, 2) : formatDriftReport(heatmap))
    return 0
  } catch (error) {
    if (error instanceof Error && !(error instanceof AppError) && /no such (table|column)/.test(error.message)) {
      throw new AppError('database-corrupt', `${path.join(dataDir, DATABASE_FILE_NAME)} has no drift tables yet; start this version's control center on it once (${error.message})`, {
        dataDir,
      })
    }
    throw error
  } finally {
    db.close()
  }
}

function openReadOnly(dataDir: string) {
  try {
    return openDatabaseReadOnly(path.join(dataDir, DATABASE_FILE_NAME))
  } catch (error) {
    if (error instanceof AppError && error.code === 'not-found') {
      throw new AppError('not-found', `No Outpost database in ${dataDir}; run \`outpost serve\` first, or pass --data-dir`, { dataDir })
    }
    throw error
  }
}
