/**
 * Checks the folder layering that eslint.config.js enforces (anchors-aesthetics.md §4.3), through ESLint's own API on
 * small snippets placed (virtually) in each folder. Lives beside the shell because the shell is the one folder the
 * rules single out; it reads only the root config.
 */
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'
import { beforeAll, describe, expect, it } from 'vitest'

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
let eslint: ESLint

beforeAll(() => {
  eslint = new ESLint({
    cwd: repoRoot,
    // The snippets are not files in a tsconfig project, so lint them without type information and run only the
    // rules under test.
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
    ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports' || ruleId === 'no-console',
  })
})

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}${filePath}` })
  return (result?.messages ?? []).map((message) => message.ruleId ?? `fatal: ${message.message}`)
}
const isReported = async (filePath: string, code: string) => expect(await problems(filePath, code)).toContain('no-restricted-imports')
const isAllowed = async (filePath: string, code: string) => expect(await problems(filePath, code)).toEqual([])

describe('layering rules', () => {
  it('keeps electron inside src-main/electron, src-main/index.ts and the preload', async () => {
    await isReported('src-main/core/x.ts', "import 'electron'")
    await isReported('src-main/backend/x.ts', "import { app } from 'electron'")
    await isReported('src-main/headless/x.ts', "import { app } from 'electron/main'")
    await isReported('src-main/cli/x.ts', "import { app } from 'electron'")
    await isReported('agent/src/x.ts', "import 'electron'")
    await isReported('e2e/x.spec.ts', "import 'electron'")
    await isAllowed('src-main/electron/x.ts', "import { app } from 'electron'")
    await isAllowed('src-main/index.ts', "import { app } from 'electron'")
    await isAllowed('src-preload/index.ts', "import { contextBridge } from 'electron'")
  })

  it('keeps src-main/core pure', async () => {
    await isReported('src-main/core/fleet/x.ts', "import { readFileSync } from 'node:fs'")
    await isReported('src-main/core/fleet/x.ts', "import fs from 'fs/promises'")
    await isReported('src-main/core/fleet/x.ts', "import Database from 'better-sqlite3'")
    await isReported('src-main/core/fleet/x.ts', "import { connect } from 'mqtt'")
    await isReported('src-main/core/fleet/x.ts', "import type { DeviceRepository } from '../../ports/deviceRepository.ts'")
    await isReported('src-main/core/fleet/x.ts', "import { openDatabase } from '../../adapters/sqlite/openDatabase.ts'")
    await isAllowed('src-main/core/fleet/x.ts', "import { AppError } from '../../../src-shared/errors.ts'\nimport { y } from '../artifacts/y.ts'\nimport { z } from 'zod'")
  })

  it('lets services see ports but not adapters or drivers', async () => {
    await isReported('src-main/services/x.ts', "import { openDatabase } from '../adapters/sqlite/openDatabase.ts'")
    await isReported('src-main/services/x.ts', "import { connect } from 'mqtt'")
    await isAllowed('src-main/services/x.ts', "import type { DeviceRepository } from '../ports/deviceRepository.ts'\nimport { decide } from '../core/fleet/decide.ts'")
  })

  it('lets ports use Node types but not Node at runtime', async () => {
    await isAllowed('src-main/ports/x.ts', "import type { Readable } from 'node:stream'")
    await isReported('src-main/ports/x.ts', "import { Readable } from 'node:stream'")
  })

  it('keeps the backend and headless mode free of the Electron shell', async () => {
    await isReported('src-main/backend/x.ts', "import { startElectronApp } from '../electron/app.ts'")
    await isReported('src-main/headless/x.ts', "import { createIpcTransport } from '../electron/ipcTransport.ts'")
    await isAllowed('src-main/backend/x.ts', "import { openDatabase } from '../adapters/sqlite/openDatabase.ts'")
  })

  it('keeps main-side code away from the renderer', async () => {
    await isReported('src-main/electron/x.ts', "import { App } from '../../src-renderer/App.tsx'")
    await isReported('src-main/headless/x.ts', "import { App } from '../../src-renderer/App.tsx'")
  })

  it('keeps src-shared environment-neutral and at the bottom', async () => {
    await isReported('src-shared/x.ts', "import { randomUUID } from 'node:crypto'")
    await isReported('src-shared/rpc/x.ts', "import { createBackend } from '../../src-main/backend/createBackend.ts'")
    await isReported('src-shared/x.ts', "import { App } from '../src-renderer/App.tsx'")
    await isAllowed('src-shared/rpc/x.ts', "import { z } from 'zod'\nimport { AppError } from '../errors.ts'")
  })

  it('lets the renderer import only itself, src-shared and browser libraries', async () => {
    await isReported('src-renderer/x.tsx', "import x from 'node:fs'")
    await isReported('src-renderer/x.tsx', "import path from 'path'")
    await isReported('src-renderer/features/x.tsx', "import { createBackend } from '../../src-main/backend/createBackend.ts'")
    await isReported('src-renderer/x.tsx', "import { ipcRenderer } from 'electron'")
    await isAllowed('src-renderer/features/x.tsx', "import { useState } from 'react'\nimport { AppError } from '../../src-shared/errors.ts'\nimport { y } from './agent/y.tsx'")
  })

  it('lets the sandboxed preload import src-shared for types only', async () => {
    await isReported('src-preload/index.ts', "import { isRpcMessage } from '../src-shared/rpc/envelope.ts'")
    await isAllowed('src-preload/index.ts', "import type { RpcMessage } from '../src-shared/rpc/envelope.ts'")
  })

  it('keeps the agent off the control center', async () => {
    await isReported('agent/src/x.ts', "import { x } from '../../src-main/core/x.ts'")
    await isReported('agent/src/core/x.ts', "import { x } from '../../../src-renderer/x.ts'")
    await isReported('agent/src/core/x.ts', "import { readFile } from 'node:fs/promises'")
    await isReported('agent/src/services/x.ts', "import { openStore } from '../adapters/fsStore.ts'")
    await isAllowed('agent/src/x.ts', "import { topics } from '../../src-shared/protocol/index.ts'\nimport { connect } from 'mqtt'\nimport { readFile } from 'node:fs/promises'")
  })

  it('allows the console only in loggers, command-line output and tooling', async () => {
    expect(await problems('src-main/services/x.ts', 'console.log(1)')).toEqual(['no-console'])
    expect(await problems('src-renderer/x.tsx', 'console.error(1)')).toEqual(['no-console'])
    await isAllowed('src-main/cli/main.ts', 'console.log(1)')
    await isAllowed('src-shared/log.ts', 'console.error(1)')
    await isAllowed('agent/src/main.ts', 'console.log(1)')
    await isAllowed('scripts/x.ts', 'console.log(1)')
  })
})
