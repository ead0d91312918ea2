/**
 * Electron entry (built to out/main/index.js). All the wiring lives in src-main/electron/app.ts so it can be tested
 * with a fake 'electron' module; this file only supplies the real backend and the process's own inputs.
 */
import { createLogger } from '../src-shared/log.ts'
import { createBackend } from './backend/createBackend.ts'
import { startDemo } from './cli/startDemo.ts'
import { startElectronApp } from './electron/app.ts'

startElectronApp({
  createBackend,
  mainModuleUrl: import.meta.url,
  argv: process.argv,
  env: process.env,
  log: createLogger('electron'),
  startDemo: (backend, dataDir) =>
    startDemo({
      handlers: backend.handlers,
      dataDir,
      brokerUrl: backend.info.brokerUrl,
      log: createLogger('demo'),
      isVerbose: false,
      writeAgentLine: () => {},
    }),
})
