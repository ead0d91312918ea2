import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src-shared/log.ts'
import type { Logger } from '../../src-shared/rpc/types.ts'
import { createTestBackend } from '../headless/testBackend.ts'
import { SAMPLE_MODEL_FILE, startDemo } from './startDemo.ts'

let workDir: string
let agentEntry: string

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'outpost-demo-'))
  // Stands in for bin/outpost-agent.js: records its arguments, logs a line, then waits to be stopped (or crashes on demand).
  agentEntry = path.join(workDir, 'agent.mjs')
  writeFileSync(
    agentEntry,
    [
      "import { writeFileSync } from 'node:fs'",
      "writeFileSync(process.env.ARGS_FILE ?? 'args.json', JSON.stringify(process.argv.slice(2)))",
      "console.error('agent says hello')",
      "if (process.argv.includes('--crash')) process.exit(3)",
      'setInterval(() => {}, 1000)',
    ].join('\n'),
  )
})
afterAll(() => {
  delete process.env['ARGS_FILE']
  rmSync(workDir, { recursive: true, force: true })
})

function argsFile(dataDir: string) {
  return path.join(dataDir, 'demo', 'agents-args.json')
}

describe('startDemo', () => {
  it('enrolls five devices, writes their credentials 0600, imports the sample model once and runs one agent process', async () => {
    const backend = createTestBackend()
    const dataDir = path.join(workDir, 'data')
    const agentLines: string[] = []
    process.env['ARGS_FILE'] = argsFile(dataDir)
    const demo = await startDemo({
      handlers: backend.handlers,
      dataDir,
      brokerUrl: 'mqtt://127.0.0.1:18830',
      log: silentLogger,
      isVerbose: true,
      writeAgentLine: (line) => agentLines.push(line),
      agentEntry,
    })
    try {
      expect(demo.deviceIds).toEqual(['demo-1', 'demo-2', 'demo-3', 'demo-4', 'demo-5'])
      const credentials = JSON.parse(readFileSync(demo.credentialsFile, 'utf8')) as { devices: unknown[] }
      expect(credentials.devices[0]).toEqual({ deviceId: 'demo-1', username: 'demo-1', password: 'secret-demo-1' })
      expect(credentials.devices).toHaveLength(5)
      expect(statSync(demo.credentialsFile).mode & 0o777).toBe(0o600)
      expect(backend.importedPaths).toEqual([SAMPLE_MODEL_FILE])
      const models = await backend.handlers['models.list']({}, { connectionId: 'test' })
      expect(models.map((model) => `${model.name}@${model.version}`)).toEqual(['tiny-classifier@1.0.0'])

      await expect.poll(() => readFileSync(argsFile(dataDir), 'utf8'), { timeout: 10_000 }).toContain('--simulate')
      expect(JSON.parse(readFileSync(argsFile(dataDir), 'utf8'))).toEqual([
        '--simulate', '5', '--credentials', demo.credentialsFile, '--broker', 'mqtt://127.0.0.1:18830',
        '--data-dir', path.join(dataDir, 'demo', 'agents'), '--telemetry-interval-s', '5', '--heartbeat-interval-s', '5',
        '--workload-rate', '5',
      ])
      await expect.poll(() => agentLines, { timeout: 10_000 }).toContain('[demo-agents] agent says hello')
    } finally {
      await demo.stop()
    }

    const again = await startDemo({
      handlers: backend.handlers, dataDir, brokerUrl: 'mqtt://127.0.0.1:18830', log: silentLogger, isVerbose: false,
      writeAgentLine: () => {}, agentEntry,
    })
    await again.stop()
    expect(backend.importedPaths).toHaveLength(1)
  })

  it('logs a crash of the agent process as one line and keeps going', async () => {
    const errors: string[] = []
    const log: Logger = { ...silentLogger, error: (message) => errors.push(message) }
    const crashingEntry = path.join(workDir, 'crash.mjs')
    writeFileSync(crashingEntry, "console.error('boom'); process.exit(3)")
    const demo = await startDemo({
      handlers: createTestBackend().handlers, dataDir: path.join(workDir, 'crash-data'), brokerUrl: 'mqtt://127.0.0.1:1',
      log, isVerbose: false, writeAgentLine: () => {}, agentEntry: crashingEntry,
    })
    await expect.poll(() => errors, { timeout: 10_000 }).toHaveLength(1)
    expect(errors[0]).toMatch(/^The simulated demo agents exited \(code 3\)/)
    expect(errors[0]).not.toContain('\n')
    await demo.stop()
  })
})
