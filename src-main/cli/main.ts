/** Process entry of the `outpost` CLI, imported by bin/outpost.js. */
import { runFromProcess } from './runFromProcess.ts'

await runFromProcess(process.argv.slice(2))
