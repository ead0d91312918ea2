import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export type ElectronRuntime =
  | { isAvailable: true; executablePath: string; mainEntry: string }
  | { isAvailable: false; reason: string }

export interface FindElectronOptions {
  env: Readonly<Record<string, string | undefined>>
  platform?: NodeJS.Platform
  /** The electron package's folder; resolved from node_modules when absent. */
  packageDir?: string | undefined
  /** The built main bundle. Default: out/main/index.js in the repository. */
  mainEntry?: string
}

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url))
export const ELECTRON_MAIN_ENTRY = path.join(repositoryRoot, 'out', 'main', 'index.js')

/**
 * Finds an Electron binary without running the electron package's index.js: that file downloads the binary when
 * it is missing (feasibility.md §6), and a start command must never reach the network. Mirrors its lookup:
 * path.txt names the executable, under dist/ or under ELECTRON_OVERRIDE_DIST_PATH.
 */
export function findElectronRuntime(options: FindElectronOptions): ElectronRuntime {
  const platform = options.platform ?? process.platform
  const mainEntry = options.mainEntry ?? ELECTRON_MAIN_ENTRY
  const packageDir = options.packageDir ?? resolveElectronPackageDir()
  if (packageDir === undefined) return { isAvailable: false, reason: 'the electron package is not installed' }

  const pathFile = path.join(packageDir, 'path.txt')
  const executableName = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : undefined
  const overrideDir = options.env['ELECTRON_OVERRIDE_DIST_PATH']
  let executablePath: string
  if (overrideDir) {
    executablePath = path.join(overrideDir, executableName || defaultExecutableName(platform))
  } else if (executableName) {
    executablePath = path.join(packageDir, 'dist', executableName)
  } else {
    return { isAvailable: false, reason: 'the electron package has no downloaded binary' }
  }
  if (!isFile(executablePath)) return { isAvailable: false, reason: `no Electron binary at ${executablePath}` }
  if (!isFile(mainEntry)) {
    return { isAvailable: false, reason: `the desktop app is not built: ${mainEntry} is missing, run \`npm run build\`` }
  }
  if (platform === 'linux' && !options.env['DISPLAY'] && !options.env['WAYLAND_DISPLAY']) {
    return { isAvailable: false, reason: 'no display: DISPLAY and WAYLAND_DISPLAY are unset' }
  }
  return { isAvailable: true, executablePath, mainEntry }
}

function resolveElectronPackageDir(): string | undefined {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('electron/package.json'))
  } catch {
    return undefined
  }
}

function defaultExecutableName(platform: NodeJS.Platform): string {
  if (platform === 'win32') return 'electron.exe'
  if (platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron'
  return 'electron'
}

function isFile(filePath: string): boolean {
  try {
    return statSync(filePath).isFile()
  } catch {
    return false
  }
}
