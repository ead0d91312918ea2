import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP_ENTRY_URL, createAppProtocolHandler, resolveRendererFile } from './appProtocol.ts'

const CSP = "default-src 'self'"
let base: string
let rendererDir: string

beforeAll(() => {
  // <base>/renderer is served; <base>/secret.txt and <base>/renderer-evil/x.txt sit next to it and must stay private.
  base = mkdtempSync(join(tmpdir(), 'outpost-app-protocol-'))
  rendererDir = join(base, 'renderer')
  mkdirSync(join(rendererDir, 'assets'), { recursive: true })
  mkdirSync(join(base, 'renderer-evil'))
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><div id="root"></div>')
  writeFileSync(join(rendererDir, 'assets', 'main-abc.js'), 'console.log(1)')
  writeFileSync(join(base, 'secret.txt'), 'secret')
  writeFileSync(join(base, 'renderer-evil', 'x.txt'), 'secret')
})
afterAll(() => rmSync(base, { recursive: true, force: true }))

const get = (url: string, method = 'GET') => createAppProtocolHandler({ rendererDir, contentSecurityPolicy: CSP })(new Request(url, { method }))

describe('app:// protocol handler', () => {
  it('serves index.html for the entry URL and for /, with our CSP', async () => {
    for (const url of [APP_ENTRY_URL, 'app://outpost/']) {
      const response = await get(url)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(response.headers.get('content-security-policy')).toBe(CSP)
      expect(await response.text()).toContain('id="root"')
    }
  })

  it('serves built assets with their content type', async () => {
    const response = await get('app://outpost/assets/main-abc.js?v=1')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('refuses encoded separators, NUL and absolute paths that would climb out of the renderer folder', async () => {
    const attempts = [
      'app://outpost/..%2fsecret.txt',
      'app://outpost/assets/..%2f..%2fsecret.txt',
      'app://outpost/%2e%2e%2frenderer-evil/x.txt',
      'app://outpost/..%5csecret.txt',
      'app://outpost/index.html%00.js',
      'app://outpost/%E0%A4%A',
    ]
    for (const url of attempts) {
      const response = await get(url)
      expect({ url, status: response.status }).toEqual({ url, status: 403 })
      expect(await response.text()).not.toContain('secret')
    }
  })

  it('keeps dot segments and encoded absolute paths inside the folder', async () => {
    const attempts = [
      'app://outpost/../secret.txt',
      'app://outpost/%2e%2e/secret.txt',
      'app://outpost/assets/%2E%2E/%2e%2e/secret.txt',
      `app://outpost/${encodeURIComponent(join(base, 'secret.txt'))}`,
    ]
    for (const url of attempts) {
      const response = await get(url)
      expect({ url, status: response.status }).toEqual({ url, status: 404 })
      expect(await response.text()).not.toContain('secret')
    }
  })

  it('serves only the app host', async () => {
    expect((await get('app://evil/index.html')).status).toBe(403)
  })

  it('answers 404 for missing files and folders, 405 for writes', async () => {
    expect((await get('app://outpost/missing.js')).status).toBe(404)
    expect((await get('app://outpost/assets')).status).toBe(404)
    expect((await get('app://outpost/index.html', 'POST')).status).toBe(405)
  })

  it('answers HEAD without a body', async () => {
    const response = await get(APP_ENTRY_URL, 'HEAD')
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('')
  })
})

describe('resolveRendererFile', () => {
  it('maps URLs to files inside the folder only', () => {
    expect(resolveRendererFile('/r', 'app://outpost/assets/a.js')).toBe(join('/r', 'assets', 'a.js'))
    expect(resolveRendererFile('/r', 'app://outpost/a/')).toBe(join('/r', 'a', 'index.html'))
    expect(resolveRendererFile('/r', 'app://outpost/..%2f/r2/a.js')).toBeUndefined()
    expect(resolveRendererFile('/r', 'app://outpost/%2e%2e%2fr2/a.js')).toBeUndefined()
    expect(resolveRendererFile('/r', 'https://outpost/a.js')).toBeUndefined()
    expect(resolveRendererFile('/r', 'not a url')).toBeUndefined()
  })
})
