import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src-shared/errors.ts'
import { builtAppPaths, DEFAULT_BROKER_PORT, readFlag, resolveLaunchOptions } from './launchOptions.ts'

const DEFAULT_DIR = '/home/ada/.local/share/outpost'
const electronArgv = ['/opt/Outpost/outpost', '.']

describe('resolveLaunchOptions', () => {
  it('defaults to the per-user data folder and the embedded broker on loopback', () => {
    expect(resolveLaunchOptions(electronArgv, {}, DEFAULT_DIR)).toEqual({
      dataDir: DEFAULT_DIR,
      broker: { kind: 'embedded', host: '127.0.0.1', port: DEFAULT_BROKER_PORT },
    })
  })

  it('takes the data folder from --data-dir before OUTPOST_DATA_DIR, resolved to an absolute path', () => {
    const env = { OUTPOST_DATA_DIR: '/srv/from-env' }
    expect(resolveLaunchOptions([...electronArgv, '--data-dir', 'rel/dir'], env, DEFAULT_DIR).dataDir).toBe(resolve('rel/dir'))
    expect(resolveLaunchOptions([...electronArgv, '--data-dir=/srv/flag'], env, DEFAULT_DIR).dataDir).toBe('/srv/flag')
    expect(resolveLaunchOptions(electronArgv, env, DEFAULT_DIR).dataDir).toBe('/srv/from-env')
    expect(resolveLaunchOptions(electronArgv, { OUTPOST_DATA_DIR: ' ' }, DEFAULT_DIR).dataDir).toBe(DEFAULT_DIR)
  })

  it('uses an external broker from --broker with credentials from the environment only', () => {
    const options = resolveLaunchOptions([...electronArgv, '--broker', 'mqtts://broker.example:8883'], { OUTPOST_BROKER_USERNAME: 'cc', OUTPOST_BROKER_PASSWORD: 'pw' }, DEFAULT_DIR)
    expect(options.broker).toEqual({ kind: 'external', url: 'mqtts://broker.example:8883', username: 'cc', password: 'pw' })
    expect(resolveLaunchOptions(electronArgv, { OUTPOST_BROKER_URL: 'mqtt://b:1883' }, DEFAULT_DIR).broker).toEqual({ kind: 'external', url: 'mqtt://b:1883' })
  })

  it('moves the embedded broker with --broker-port and rejects a bad port as invalid input', () => {
    expect(resolveLaunchOptions([...electronArgv, '--broker-port', '0'], {}, DEFAULT_DIR).broker).toEqual({ kind: 'embedded', host: '127.0.0.1', port: 0 })
    for (const bad of ['70000', '-1', 'abc', '1.5']) {
      expect(() => resolveLaunchOptions([...electronArgv, `--broker-port=${bad}`], {}, DEFAULT_DIR)).toThrow(AppError)
    }
  })
})

describe('readFlag', () => {
  it('reads both spellings, lets the last one win, and refuses a flag without a value', () => {
    expect(readFlag(['--a', '1', '--a=2'], 'a')).toBe('2')
    expect(readFlag(['--ab', '1'], 'a')).toBeUndefined()
    expect(() => readFlag(['--a'], 'a')).toThrow(/needs a value/)
    expect(() => readFlag(['--a', '--b'], 'a')).toThrow(/needs a value/)
  })
})

describe('builtAppPaths', () => {
  it('finds the CommonJS preload and the renderer next to the main bundle', () => {
    expect(builtAppPaths('file:///opt/outpost/out/main/index.js')).toEqual({
      preloadPath: '/opt/outpost/out/preload/index.cjs',
      rendererDir: '/opt/outpost/out/renderer/',
    })
  })
})
