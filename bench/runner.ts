/**
 * Runs every module in bench/benchmarks/, checks each figure, and writes the report as Markdown and JSON with the
 * machine described. Used by run.ts (`npm run bench`) and by bench.test.ts (quick mode, temp output paths).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { BugError } from '../src-shared/errors.ts'
import { nowMs, roundFigure } from './support/stats.ts'
import type { Benchmark, BenchResult } from './types.ts'

const benchDir = dirname(fileURLToPath(import.meta.url))
export const defaultMarkdownPath = join(benchDir, '..', 'BENCHMARKS.md')
export const defaultJsonPath = join(benchDir, 'results.json')
const benchmarksDir = join(benchDir, 'benchmarks')
/** Full mode is meant to stay under this per benchmark on a 2-core machine; longer runs are flagged in the report. */
const FULL_MODE_BUDGET_MS = 60_000

export interface Machine {
  cpuModel: string
  cpuCount: number
  totalMemoryBytes: number
  os: string
  nodeVersion: string
  onnxruntimeNodeVersion: string
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews absolute figures. */
  loadAverage: number[]
  date: string
}

export interface BenchmarkReport {
  name: string
  description: string
  durationMs: number
  results: BenchResult[]
  /** Set when the benchmark threw or returned an invalid figure; results is then empty. */
  error?: string
}

export interface Report {
  mode: 'quick' | 'full'
  machine: Machine
  benchmarks: BenchmarkReport[]
}

export interface RunOptions {
  quick: boolean
  markdownPath?: string
  jsonPath?: string
  /** Only benchmarks with these names (all when absent). */
  only?: readonly string[]
  log?: (message: string) => void
}

export function describeMachine(): Machine {
  const cpuList = cpus()
  const require = createRequire(import.meta.url)
  const ortPackage = require('onnxruntime-node/package.json') as { version: string }
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cpuCount: cpuList.length,
    totalMemoryBytes: totalmem(),
    os: `${platform()} ${release()} (${arch()})`,
    nodeVersion: process.version,
    onnxruntimeNodeVersion: ortPackage.version,
    loadAverage: loadavg().map((value) => Number(value.toFixed(2))),
    date: new Date().toISOString(),
  }
}

function isBenchmark(value: unknown): value is Benchmark {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return typeof candidate.name === 'string' && typeof candidate.description === 'string' && typeof candidate.run === 'function'
}

/** Every `export const benchmark` in bench/benchmarks/*.ts, in file-name order. */
export async function loadBenchmarks(): Promise<Benchmark[]> {
  const files = (await readdir(benchmarksDir)).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts')).sort()
  const benchmarks: Benchmark[] = []
  for (const file of files) {
    const module = (await import(pathToFileURL(join(benchmarksDir, file)).href)) as Record<string, unknown>
    if (!isBenchmark(module.benchmark)) throw new BugError(`bench/benchmarks/${file} must export const benchmark: Benchmark`)
    benchmarks.push(module.benchmark)
  }
  return benchmarks
}

const isPositiveFinite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0

/** Checks a figure and fills `met` from its ratio target; throws BugError for a figure that is not a measurement. */
export function checkResult(result: BenchResult): BenchResult {
  for (const [field, value] of [['value', result.value], ['baseline.value', result.baseline.value], ['ratio', result.ratio]] as const) {
    if (!isPositiveFinite(value)) throw new BugError(`${result.id}: ${field} is ${String(value)}, not a positive finite number`)
  }
  const expected = result.value / result.baseline.value
  if (result.unit === result.baseline.unit && Math.abs(result.ratio - expected) > 1e-9 * Math.max(1, expected)) {
    throw new BugError(`${result.id}: ratio ${result.ratio} is not value / baseline (${expected})`)
  }
  const checks: boolean[] = []
  if (result.target !== undefined) checks.push(holds(result.ratio, result.target.comparison, result.target.ratio))
  if (result.absoluteTarget !== undefined) checks.push(holds(result.value, result.absoluteTarget.comparison, result.absoluteTarget.value))
  return checks.length === 0 ? result : { ...result, met: checks.every(Boolean) }
}

const holds = (value: number, comparison: '<=' | '>=', bound: number) => (comparison === '<=' ? value <= bound : value >= bound)

export async function runBenchmarks(options: RunOptions): Promise<Report> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`))
  const machine = describeMachine()
  const selected = (await loadBenchmarks()).filter((benchmark) => options.only === undefined || options.only.includes(benchmark.name))
  const benchmarks: BenchmarkReport[] = []
  for (const benchmark of selected) {
    log(`[${benchmark.name}] ${benchmark.description}`)
    const startedMs = nowMs()
    let report: BenchmarkReport
    try {
      const results = (await benchmark.run({ quick: options.quick, log: (message) => log(`[${benchmark.name}] ${message}`) })).map(checkResult)
      if (results.length === 0) throw new BugError(`${benchmark.name} returned no results`)
      report = { name: benchmark.name, description: benchmark.description, durationMs: nowMs() - startedMs, results }
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      report = { name: benchmark.name, description: benchmark.description, durationMs: nowMs() - startedMs, results: [], error: message }
    }
    benchmarks.push(report)
    log(`[${benchmark.name}] ${report.error === undefined ? report.results.map(formatLine).join('; ') : `FAILED ${report.error}`} (${(report.durationMs / 1000).toFixed(1)} s)`)
  }
  const report: Report = { mode: options.quick ? 'quick' : 'full', machine, benchmarks }
  const markdownPath = options.markdownPath ?? defaultMarkdownPath
  const jsonPath = options.jsonPath ?? defaultJsonPath
  await mkdir(dirname(markdownPath), { recursive: true })
  await mkdir(dirname(jsonPath), { recursive: true })
  await writeFile(markdownPath, renderMarkdown(report))
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`)
  log(`wrote ${markdownPath} and ${jsonPath}`)
  return report
}

const formatFigure = (value: number, unit: string) => `${roundFigure(value)} ${unit}`
const formatRatio = (ratio: number) => `${roundFigure(ratio)}x`

function formatLine(result: BenchResult): string {
  return `${result.id} ${formatFigure(result.value, result.unit)} vs ${formatFigure(result.baseline.value, result.baseline.unit)} = ${formatRatio(result.ratio)}`
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function renderMarkdown(report: Report): string {
  const { machine } = report
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (${report.mode} mode) on ${machine.date}. Every figure is compared with a baseline`,
    'measured in the same run on the same machine; the ratio is figure / baseline. Regenerate with `npm run bench`;',
    'see bench/README.md.',
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${cell(machine.cpuModel)} x ${machine.cpuCount} |`,
    `| Memory | ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB |`,
    `| OS | ${cell(machine.os)} |`,
    `| Node | ${machine.nodeVersion} |`,
    `| onnxruntime-node | ${machine.onnxruntimeNodeVersion} (CPU) |`,
    `| Load average at start (1, 5, 15 min) | ${machine.loadAverage.join(', ')} |`,
    '',
    '## Results',
    '',
    '| Figure | Value | Baseline | Ratio | Target | Met |',
    '|---|---|---|---|---|---|',
  ]
  for (const benchmark of report.benchmarks) {
    for (const result of benchmark.results) {
      const target = [
        result.target === undefined ? '' : `${result.target.comparison} ${formatRatio(result.target.ratio)}`,
        result.absoluteTarget === undefined ? '' : `${result.absoluteTarget.comparison} ${formatFigure(result.absoluteTarget.value, result.unit)}`,
      ]
        .filter((text) => text !== '')
        .join(', ')
      const met = result.met === undefined ? '' : result.met ? 'yes' : '**no**'
      lines.push(
        `| ${cell(result.title)} | ${formatFigure(result.value, result.unit)} | ${formatFigure(result.baseline.value, result.baseline.unit)} (${cell(result.baseline.title)}) | ${formatRatio(result.ratio)} | ${target} | ${met} |`,
      )
    }
    if (benchmark.error !== undefined) lines.push(`| ${cell(benchmark.name)} | failed | | | | **no** |`)
  }
  lines.push('', '## Notes', '')
  for (const benchmark of report.benchmarks) {
    const duration = `${(benchmark.durationMs / 1000).toFixed(1)} s`
    const overBudget = report.mode === 'full' && benchmark.durationMs > FULL_MODE_BUDGET_MS ? ', over its 60 s budget' : ''
    lines.push(`- **${benchmark.name}** (${duration}${overBudget}): ${benchmark.description}.`)
    if (benchmark.error !== undefined) lines.push(`  - Failed: ${cell(benchmark.error)}`)
    for (const result of benchmark.results) if (result.notes) lines.push(`  - \`${result.id}\`: ${cell(result.notes)}`)
  }
  lines.push('')
  return lines.join('\n')
}
