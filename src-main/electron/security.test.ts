import type { App, Session, WebContents } from 'electron'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { app, fakeEvent, FakeEvent, FakeSession, FakeWebContents, resetFakeElectron } from './fakeElectron.ts'
import { contentSecurityPolicy, hardenAllWebContents, hardenSession, hardenWebContents, isExternalWebLink, isTrustedUrl } from './security.ts'

vi.mock('electron', () => import('./fakeElectron.ts'))

const ORIGIN = 'app://outpost'
const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() }

function hardened() {
  const contents = new FakeWebContents()
  const openExternal = vi.fn(() => Promise.resolve())
  hardenWebContents(contents as unknown as WebContents, { trustedOrigin: ORIGIN, openExternal, log })
  const navigate = (event: string, url: string) => {
    const details = fakeEvent({ url })
    contents.emit(event, details)
    return details.defaultPrevented ? 'blocked' : 'allowed'
  }
  return { contents, openExternal, navigate }
}

describe('contentSecurityPolicy', () => {
  const directives = (policy: string) => new Map(policy.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]))

  it('is strict for packaged builds', () => {
    const policy = directives(contentSecurityPolicy())
    expect(policy.get('default-src')).toBe("'self'")
    expect(policy.get('script-src')).toBe("'self'")
    expect(policy.get('object-src')).toBe("'none'")
    expect(policy.get('frame-ancestors')).toBe("'none'")
    expect(policy.get('connect-src')).toBe("'self'")
    expect(contentSecurityPolicy()).not.toContain('unsafe')
  })

  it('lets the development server run its inline refresh preamble and hot-reload socket', () => {
    const policy = directives(contentSecurityPolicy({ devServerOrigin: 'http://localhost:5173' }))
    expect(policy.get('script-src')).toBe("'self' 'unsafe-inline'")
    expect(policy.get('connect-src')).toBe("'self' ws://localhost:5173")
  })
})

describe('hardenSession', () => {
  let session: FakeSession
  beforeEach(() => {
    session = new FakeSession()
    hardenSession(session as unknown as Session, "default-src 'self'", log)
  })

  it('sets our CSP header on responses, replacing any the server sent', () => {
    let answer: { responseHeaders?: Record<string, string | string[]> } | undefined
    session.headersListener?.(
      { url: 'http://localhost:5173/', responseHeaders: { 'content-security-policy': ['default-src *'], 'Content-Type': ['text/html'] } },
      (response) => (answer = response),
    )
    expect(answer?.responseHeaders).toEqual({ 'Content-Type': ['text/html'], 'Content-Security-Policy': ["default-src 'self'"] })
  })

  it('denies every permission request and check', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      const callback = vi.fn()
      session.permissionRequestHandler?.(new FakeWebContents(), permission, callback)
      expect(callback).toHaveBeenCalledWith(false)
      expect(session.permissionCheckHandler?.(new FakeWebContents(), permission)).toBe(false)
    }
    expect(session.devicePermissionHandler?.({ deviceType: 'usb' })).toBe(false)
  })
})

describe('hardenWebContents', () => {
  it('blocks navigation, frame navigation and redirects to foreign URLs', () => {
    const { navigate } = hardened()
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect']) {
      expect(navigate(event, 'https://evil.example/')).toBe('blocked')
      expect(navigate(event, 'file:///etc/passwd')).toBe('blocked')
      expect(navigate(event, 'app://evil/index.html')).toBe('blocked')
      expect(navigate(event, 'not a url')).toBe('blocked')
    }
  })

  it('allows navigation within the app origin', () => {
    const { navigate } = hardened()
    expect(navigate('will-navigate', 'app://outpost/index.html#/devices')).toBe('allowed')
  })

  it('refuses to attach a webview', () => {
    const { contents } = hardened()
    const event = new FakeEvent()
    contents.emit('will-attach-webview', event, {}, { src: 'https://evil.example' })
    expect(event.defaultPrevented).toBe(true)
  })

  it('denies every new window and opens only http(s) links in the browser', () => {
    const { contents, openExternal } = hardened()
    const open = (url: string) => contents.windowOpenHandler?.({ url })
    expect(open('https://github.com/outpost')).toEqual({ action: 'deny' })
    expect(open('http://example.com/docs')).toEqual({ action: 'deny' })
    expect(open('file:///etc/passwd')).toEqual({ action: 'deny' })
    expect(open('javascript:alert(1)')).toEqual({ action: 'deny' })
    expect(open('smb://server/share')).toEqual({ action: 'deny' })
    expect(openExternal.mock.calls).toEqual([['https://github.com/outpost'], ['http://example.com/docs']])
  })
})

describe('hardenAllWebContents', () => {
  beforeEach(resetFakeElectron)

  it('hardens every web contents the app creates', () => {
    hardenAllWebContents(app as unknown as App, { trustedOrigin: ORIGIN, openExternal: () => Promise.resolve(), log })
    const contents = new FakeWebContents()
    app.emit('web-contents-created', new FakeEvent(), contents)
    expect(contents.windowOpenHandler?.({ url: 'https://example.com' })).toEqual({ action: 'deny' })
    const details = fakeEvent({ url: 'https://evil.example' })
    contents.emit('will-navigate', details)
    expect(details.defaultPrevented).toBe(true)
  })
})

describe('URL predicates', () => {
  it('trusts only the exact origin', () => {
    expect(isTrustedUrl('app://outpost/a/b.js', ORIGIN)).toBe(true)
    expect(isTrustedUrl('app://outpost.evil/', ORIGIN)).toBe(false)
    expect(isTrustedUrl('http://outpost/', ORIGIN)).toBe(false)
    expect(isTrustedUrl('http://localhost:5173/src/main.tsx', 'http://localhost:5173')).toBe(true)
    expect(isTrustedUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false)
    expect(isTrustedUrl('data:text/html,hi', 'null')).toBe(false)
  })

  it('treats only http and https as external web links', () => {
    expect(isExternalWebLink('https://a.example')).toBe(true)
    expect(isExternalWebLink('mailto:a@b.c')).toBe(false)
    expect(isExternalWebLink('app://outpost/')).toBe(false)
  })
})
