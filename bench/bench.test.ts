import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BugError } from '../src-shared/errors.ts'
import { checkResult, defaultJsonPath, defaultMarkdownPath, loadBenchmarks, runBenchmarks, type Report } from './runner.ts'
import { quantile } from './support/stats.ts'
import type { BenchResult } from './types.ts'

const outDir = mkdtempSync(join(tmpdir(), 'outpost-bench-test-'))
afterAll(() => rmSync(outDir, { recursive: true, force: true }))

const aResult = (overrides: Partial<BenchResult> = {}): BenchResult => ({
  id: 'x',
  title: 'X',
  value: 2,
  unit: 'ms',
  baseline: { value: 1, unit: 'ms', title: 'base' },
  ratio: 2,
  ...overrides,
})

describe('checkResult', () => {
  it('fills met from the ratio target and the absolute target', () => {
    expect(checkResult(aResult({ target: { comparison: '<=', ratio: 1.5 } })).met).toBe(false)
    expect(checkResult(aResult({ target: { comparison: '>=', ratio: 1.5 } })).met).toBe(true)
    expect(checkResult(aResult({ target: { comparison: '>=', ratio: 1.5 }, absoluteTarget: { comparison: '<=', value: 1 } })).met).toBe(false)
    expect(checkResult(aResult()).met).toBeUndefined()
  })

  it('refuses figures that are not measurements', () => {
    expect(() => checkResult(aResult({ value: Number.NaN }))).toThrow(BugError)
    expect(() => checkResult(aResult({ baseline: { value: 0, unit: 'ms', title: 'base' } }))).toThrow(BugError)
    expect(() => checkResult(aResult({ ratio: 3 }))).toThrow(/not value \/ baseline/)
  })
})

it('quantile interpolates between ranks', () => {
  expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5)
  expect(quantile([1, 2, 3], 1)).toBe(3)
})

describe('the suite in quick mode', () => {
  let report: Report
  const markdownPath = join(outDir, 'BENCHMARKS.md')
  const jsonPath = join(outDir, 'results.json')

  it('runs every benchmark without error into the given paths', { timeout: 240_000 }, async () => {
    expect((await loadBenchmarks()).length).toBeGreaterThanOrEqual(6)
    report = await runBenchmarks({ quick: true, markdownPath, jsonPath, log: () => {} })
    expect(markdownPath).not.toBe(defaultMarkdownPath)
    expect(jsonPath).not.toBe(defaultJsonPath)
    expect(report.benchmarks.filter((benchmark) => benchmark.error !== undefined).map((benchmark) => `${benchmark.name}: ${benchmark.error}`)).toEqual([])
  })

  it('gives every figure a finite positive value, baseline and ratio', () => {
    const results = report.benchmarks.flatMap((benchmark) => benchmark.results)
    expect(results.length).toBeGreaterThanOrEqual(report.benchmarks.length)
    for (const result of results) {
      for (const figure of [result.value, result.baseline.value, result.ratio]) {
        expect(Number.isFinite(figure) && figure > 0, `${result.id}: ${figure}`).toBe(true)
      }
    }
  })

  it('writes the Markdown and JSON reports with the machine described', () => {
    const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as Report
    expect(json.mode).toBe('quick')
    expect(json.machine.cpuCount).toBeGreaterThan(0)
    expect(json.machine.nodeVersion).toBe(process.version)
    const markdown = readFileSync(markdownPath, 'utf8')
    for (const result of json.benchmarks.flatMap((benchmark) => benchmark.results)) expect(markdown).toContain(`\`${result.id}\``)
    expect(markdown).toContain(json.machine.onnxruntimeNodeVersion)
  })
})
