/**
 * Node entry of the headless host (no Electron): `node src-main/headless.ts [serve options]` is `outpost serve`.
 * The backend, the HTTP and WebSocket server and the shutdown all live behind the CLI's serve command.
 */
import { runFromProcess } from './cli/runFromProcess.ts'

await runFromProcess(['serve', ...process.argv.slice(2)])
