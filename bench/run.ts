/**
 * `npm run bench`: runs every benchmark and writes BENCHMARKS.md and bench/results.json.
 * Options: --quick (tiny counts, for CI), --markdown PATH, --json PATH, --only NAME[,NAME].
 * Exits 1 when a benchmark failed; a missed target is reported, not an error.
 */
import { parseArgs } from 'node:util'
import { runBenchmarks } from './runner.ts'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    markdown: { type: 'string' },
    json: { type: 'string' },
    only: { type: 'string' },
  },
})

const report = await runBenchmarks({
  quick: values.quick,
  ...(values.markdown === undefined ? {} : { markdownPath: values.markdown }),
  ...(values.json === undefined ? {} : { jsonPath: values.json }),
  ...(values.only === undefined ? {} : { only: values.only.split(',').map((name) => name.trim()) }),
})
const failed = report.benchmarks.filter((benchmark) => benchmark.error !== undefined)
if (failed.length > 0) {
  console.error(`${failed.length} benchmark(s) failed: ${failed.map((benchmark) => benchmark.name).join(', ')}`)
  process.exitCode = 1
}
