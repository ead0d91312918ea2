#!/usr/bin/env node
// `npm test`: typecheck, lint, vitest, build, Playwright; ends with one line "N passed, N failed" summing every suite.
// Typecheck, lint and build count as one check each; vitest and Playwright count their tests.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'node_modules', '.bin')
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, ONNXRUNTIME_NODE_INSTALL: 'skip' }
const reports = join(root, 'out', 'test-reports')
mkdirSync(reports, { recursive: true })
const only = new Set(process.argv.slice(2))
const wants = (name) => only.size === 0 || only.has(name)

let passed = 0
let failed = 0
const lines = []

function run(name, command, args) {
  const started = Date.now()
  console.log(`\n=== ${name}: ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  return { ok: result.status === 0, seconds }
}

function check(name, command, args) {
  if (!wants(name)) return
  const { ok, seconds } = run(name, command, args)
  if (ok) passed += 1
  else failed += 1
  lines.push(`${name}: ${ok ? 'ok' : 'FAILED'} (${seconds} s)`)
}

function suite(name, command, args, reportFile, count) {
  if (!wants(name)) return
  rmSync(reportFile, { force: true })
  const { ok, seconds } = run(name, command, args)
  let counts = { passed: 0, failed: 0 }
  if (existsSync(reportFile)) {
    try {
      counts = count(JSON.parse(readFileSync(reportFile, 'utf8')))
    } catch {
      counts = { passed: 0, failed: 1 }
    }
  }
  // A runner that exits non-zero without reporting a failed test (crash, config error) still counts as a failure.
  if (!ok && counts.failed === 0) counts.failed = 1
  passed += counts.passed
  failed += counts.failed
  lines.push(`${name}: ${counts.passed} passed, ${counts.failed} failed (${seconds} s)`)
}

check('typecheck', 'tsc', ['-p', 'tsconfig.node.json'])
check('typecheck-web', 'tsc', ['-p', 'tsconfig.web.json'])
check('lint', 'eslint', ['.', '--max-warnings=0', '--cache', '--cache-location', 'out/.eslintcache'])
const vitestReport = join(reports, 'vitest.json')
suite('vitest', 'vitest', ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestReport}`], vitestReport, (r) => ({
  passed: r.numPassedTests ?? 0,
  failed: (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0),
}))
check('build', 'electron-vite', ['build'])
const playwrightReport = join(reports, 'playwright.json')
suite('e2e', 'playwright', ['test'], playwrightReport, (r) => ({
  passed: (r.stats?.expected ?? 0) + (r.stats?.flaky ?? 0),
  failed: (r.stats?.unexpected ?? 0),
}))

console.log('\n=== summary')
for (const line of lines) console.log(line)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
