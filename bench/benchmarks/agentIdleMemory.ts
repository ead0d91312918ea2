/**
 * Agent idle memory (issue 5 target: <= 120 MB RSS with one small model loaded). A real `outpost-agent` process
 * installs the tiny classifier from a real control center, idles, and its VmRSS is read from /proc. Baseline: a
 * Node process holding one onnxruntime session on the same model, idle for the same time.
 */
import { join } from 'node:path'
import { tinyClassifierPath } from '../../fixtures/scripts/generateModels.ts'
import { BugError } from '../../src-shared/errors.ts'
import { readRssBytes, spawnNode, type NodeChild } from '../support/children.ts'
import { startControlCenter } from '../support/controlCenter.ts'
import { withTempDir } from '../support/tempDir.ts'
import { type Benchmark, ratioOf } from '../types.ts'

const DEVICE_ID = 'bench-rss-1'
const STEP_TIMEOUT_MS = 60_000
const TARGET_RSS_MB = 120
/** Decimal megabytes: the stricter reading of the target. */
const MB = 1_000_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const benchmark: Benchmark = {
  name: 'agent-idle-memory',
  description: 'RSS of an idle outpost-agent with the tiny model installed vs Node + one onnxruntime session',
  async run({ quick, log }) {
    const settleMs = quick ? 500 : 5_000
    return withTempDir('rss', async (dir) => {
      const controlCenter = await startControlCenter(join(dir, 'control-center'))
      const children: NodeChild[] = []
      try {
        const [credentials] = await controlCenter.enroll([DEVICE_ID])
        if (!credentials) throw new BugError('enroll returned no credentials')
        const agent = spawnNode(
          ['bin/outpost-agent.js', '--broker', controlCenter.brokerUrl, '--device-id', DEVICE_ID, '--data-dir', join(dir, 'agent'), '--log-level', 'error', '--soak-s', '0', '--api-port', '0'],
          { OUTPOST_AGENT_PASSWORD: credentials.password },
        )
        children.push(agent)
        await controlCenter.waitForOnline([DEVICE_ID], STEP_TIMEOUT_MS)
        const model = await controlCenter.importModel(tinyClassifierPath, 'tiny-classifier')
        const committed = controlCenter.waitForCommitted([DEVICE_ID], model.sha256, STEP_TIMEOUT_MS)
        await controlCenter.deploy(model.modelId, [DEVICE_ID])
        await committed

        const baseline = spawnNode(['bench/support/idleSession.ts', '--model', tinyClassifierPath, '--timeout-ms', String(STEP_TIMEOUT_MS)])
        children.push(baseline)
        // For context in the notes: what Node itself costs before any module is loaded.
        const bareNode = spawnNode(['--input-type=module', '-e', `console.log('ready'); setTimeout(() => process.exit(3), ${STEP_TIMEOUT_MS})`])
        children.push(bareNode)
        await baseline.waitForLine(/^ready$/, STEP_TIMEOUT_MS)
        await bareNode.waitForLine(/^ready$/, STEP_TIMEOUT_MS)
        await sleep(settleMs)
        const agentRssBytes = await readRssBytes(agent.pid)
        const baselineRssBytes = await readRssBytes(baseline.pid)
        const bareNodeRssBytes = await readRssBytes(bareNode.pid)
        log(`agent ${(agentRssBytes / MB).toFixed(1)} MB, baseline ${(baselineRssBytes / MB).toFixed(1)} MB, bare node ${(bareNodeRssBytes / MB).toFixed(1)} MB`)
        return [
          {
            id: 'agent-idle-rss',
            title: 'Idle outpost-agent RSS with the tiny classifier committed',
            value: agentRssBytes / MB,
            unit: 'MB',
            baseline: { value: baselineRssBytes / MB, unit: 'MB', title: 'idle Node process with one onnxruntime session on the same model' },
            ratio: ratioOf(agentRssBytes, baselineRssBytes),
            absoluteTarget: { comparison: '<=', value: TARGET_RSS_MB },
            notes:
              `VmRSS after ${settleMs} ms idle (MB = 10^6 bytes); a bare idle Node process measured ${(bareNodeRssBytes / MB).toFixed(1)} MB ` +
              'at the same time. The issue 5 target is absolute; the ratio is for context.',
          },
        ]
      } finally {
        for (const child of children) await child.stop()
        await controlCenter.close()
      }
    })
  },
}
