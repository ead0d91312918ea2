// ESLint 10 flat config: typescript-eslint's type-checked rules plus the folder layering of anchors-aesthetics.md §4.3.
import { builtinModules } from 'node:module'
import js from '@eslint/js'
import { defineConfig, globalIgnores } from 'eslint/config'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

// ---- Import restrictions --------------------------------------------------------------------------------------
// In flat config the LAST block matching a file replaces `no-restricted-imports` wholesale (options are not merged),
// so general blocks come first and every specific block repeats the shared restrictions it still needs.

const restrict = (...entries) => ({
  'no-restricted-imports': [
    'error',
    { paths: entries.flatMap((entry) => entry.paths ?? []), patterns: entries.flatMap((entry) => entry.patterns ?? []) },
  ],
})
/** Bare package names match exactly (`paths`); their subpaths by an anchored pattern, so a folder of the same name does not. */
const packages = (names, message, extra = {}) => ({
  paths: names.map((name) => ({ name, message, ...extra })),
  patterns: [{ group: names.map((name) => `${name}/*`), message, ...extra }],
})
/** A relative import reaching one of our top-level folders (`../../src-main/...`). */
const topFolders = (names, message) => ({
  patterns: [{ regex: `^(\\.\\./)+(${names.join('|')})(/|$)`, message }],
})
/** A relative import reaching a sibling layer folder anywhere up the tree (`../ports/x.ts`, `../../adapters/sqlite/...`). */
const layers = (names, message) => ({
  patterns: [{ regex: `^\\.{1,2}/(\\.\\./)*(.*/)?(${names.join('|')})(/|$)`, message }],
})

const noElectron = packages(['electron'], 'Only src-main/electron/, src-main/index.ts and src-preload/ may import electron.')
const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('_') && !name.startsWith('node:'))
const noNode = {
  paths: packages(nodeBuiltins, 'No Node APIs here: this code must run in a browser or stay pure.').paths,
  patterns: [{ group: ['node:*'], message: 'No Node APIs here: this code must run in a browser or stay pure.' }],
}
const noNodeRuntime = {
  paths: packages(nodeBuiltins, 'Ports are interfaces: Node types only (import type).', { allowTypeImports: true }).paths,
  patterns: [{ group: ['node:*'], message: 'Ports are interfaces: Node types only (import type).', allowTypeImports: true }],
}
const drivers = ['better-sqlite3', 'mqtt', 'aedes', 'onnxruntime-node', 'onnx-proto', 'protobufjs', 'ws', 'electron-updater']
const noDrivers = packages(drivers, 'Drivers belong in src-main/adapters/<tech> (or agent/src/adapters).')
const noAgentToControlCenter = topFolders(['src-main', 'src-renderer', 'src-preload'], 'The agent imports only itself and src-shared.')
const noRendererFromMain = topFolders(['src-renderer', 'src-preload'], 'Main-side code never imports the renderer or the preload.')

const mainLayers = {
  core: layers(['ports', 'adapters', 'services', 'backend', 'electron', 'headless', 'cli'], 'core is pure: pass data in, return decisions.'),
  ports: layers(['adapters', 'services', 'backend', 'electron', 'headless', 'cli'], 'Ports are interfaces over src-shared and core types.'),
  services: layers(['adapters', 'backend', 'electron', 'headless', 'cli'], 'Services see ports, never adapters.'),
  adapters: layers(['services', 'backend', 'electron', 'headless', 'cli'], 'Adapters implement ports; they never call services or hosts.'),
  backend: layers(['electron', 'headless', 'cli'], 'The backend is host-neutral: it never knows who hosts it.'),
  headless: layers(['electron'], 'Headless mode runs in plain Node: never the Electron shell.'),
}

const importBlocks = [
  { files: ['**/*.{ts,tsx,js,mjs,cjs}'], rules: restrict(noElectron) },
  { files: ['src-main/**'], rules: restrict(noElectron, noRendererFromMain, layers(['electron'], 'Only src-main/index.ts wires in the Electron shell.')) },
  { files: ['src-main/core/**'], rules: restrict(noElectron, noNode, noDrivers, noRendererFromMain, mainLayers.core) },
  { files: ['src-main/ports/**'], rules: restrict(noElectron, noNodeRuntime, noDrivers, noRendererFromMain, mainLayers.ports) },
  { files: ['src-main/services/**'], rules: restrict(noElectron, noDrivers, noRendererFromMain, mainLayers.services) },
  { files: ['src-main/adapters/**'], rules: restrict(noElectron, noRendererFromMain, mainLayers.adapters) },
  { files: ['src-main/backend/**'], rules: restrict(noElectron, noRendererFromMain, mainLayers.backend) },
  { files: ['src-main/headless/**', 'src-main/headless.ts'], rules: restrict(noElectron, noRendererFromMain, mainLayers.headless) },
  { files: ['src-main/electron/**', 'src-main/index.ts'], rules: restrict(noRendererFromMain) },
  // The preload's unit test runs in the node test project, which covers src-main.
  { files: ['src-main/electron/preload.test.ts'], rules: restrict(topFolders(['src-renderer'], 'Main-side code never imports the renderer.')) },
  {
    files: ['src-preload/**'],
    rules: restrict({
      patterns: [
        {
          regex: '^(?!electron$)',
          allowTypeImports: true,
          message: 'The sandboxed preload is one file: runtime imports only from electron; use import type for the rest.',
        },
      ],
    }),
  },
  {
    files: ['src-shared/**'],
    rules: restrict(noElectron, noNode, noDrivers, topFolders(['src-main', 'src-renderer', 'src-preload', 'agent'], 'src-shared depends on nothing above it.')),
  },
  {
    files: ['src-renderer/**'],
    rules: restrict(
      noElectron,
      noNode,
      noDrivers,
      topFolders(['src-main', 'src-preload', 'agent'], 'The renderer talks to main only through its RPC client (src-renderer/api).'),
    ),
  },
  {
    files: ['agent/**'],
    rules: restrict(noElectron, noAgentToControlCenter),
  },
  {
    files: ['agent/src/core/**'],
    rules: restrict(noElectron, noNode, noDrivers, noAgentToControlCenter, layers(['ports', 'adapters', 'services'], 'The agent core is pure: pass data in, return decisions.')),
  },
  {
    files: ['agent/src/services/**'],
    rules: restrict(noElectron, noDrivers, noAgentToControlCenter, layers(['adapters'], 'Agent services see ports, never adapters.')),
  },
]

// ---- The whole config ----------------------------------------------------------------------------------------

const consoleAllowed = [
  'src-shared/log.ts',
  'src-main/cli/**',
  'agent/src/main.ts',
  'bin/**',
  'scripts/**',
  'fixtures/scripts/**',
  'bench/**',
  'e2e/**',
]

export default defineConfig([
  globalIgnores(['out/', 'node_modules/', 'test-results/', 'playwright-report/', '.cache/', 'fixtures/generated/', '.outpost-data/']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': [
        'error',
        { 'ts-expect-error': 'allow-with-description', 'ts-ignore': true, 'ts-nocheck': true, 'ts-check': false },
      ],
      // A default branch (ideally `unreachable(value)`) already makes a switch exhaustive.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Handlers<T> requires every handler to return a Promise, so `async` without `await` is the norm, not a smell.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Plain JavaScript (bin shims, this file) is in no tsconfig: lint it without type information.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['src-renderer/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // expect(mock.method).toHaveBeenCalled() passes methods around unbound by design, and asymmetric matchers
    // (expect.objectContaining, expect.any) are typed `any`.
    files: ['**/*.test.{ts,tsx}', 'e2e/**'],
    rules: { '@typescript-eslint/unbound-method': 'off', '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // The logger's last resort: whatever was thrown gets stringified, even a plain object.
    files: ['src-shared/log.ts'],
    rules: { '@typescript-eslint/no-base-to-string': 'off' },
  },
  ...importBlocks,
  { files: consoleAllowed, rules: { 'no-console': 'off' } },
])
