/**
 * Child process for the memory baseline: Node plus onnxruntime-node with one session on the given model, one
 * inference run, then idle. Prints `ready` and waits for SIGTERM; exits by itself after `--timeout-ms`.
 * Usage: node bench/support/idleSession.ts --model PATH [--timeout-ms MS]
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import * as ort from 'onnxruntime-node'

const { values } = parseArgs({ options: { model: { type: 'string' }, 'timeout-ms': { type: 'string', default: '120000' } } })
const session = await ort.InferenceSession.create(await readFile(values.model ?? ''))
const inputName = session.inputNames[0] ?? 'features'
await session.run({ [inputName]: new ort.Tensor('float32', new Float32Array(16), [1, 16]) })
console.log('ready')

const idle = setInterval(() => undefined, 60_000)
const giveUp = setTimeout(() => process.exit(3), Number(values['timeout-ms']))
process.on('SIGTERM', () => {
  clearInterval(idle)
  clearTimeout(giveUp)
  session.release().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
