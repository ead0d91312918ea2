/**
 * Session and web-contents hardening (Electron security checklist items 6-15): a strict CSP, no permissions, no
 * navigation away from the app, no new windows, no <webview>. Applied to every web contents, not only our window.
 */
import type { App, Session, WebContents } from 'electron'
import type { Logger } from '../../src-shared/rpc/types.ts'

/**
 * The Content-Security-Policy for the renderer. Packaged builds get the strict policy; the development server needs
 * the inline React Refresh preamble and a WebSocket back to itself for hot reload, and only then gets those two.
 */
export function contentSecurityPolicy(options: { devServerOrigin?: string } = {}): string {
  const dev = options.devServerOrigin
  const devSocket = dev === undefined ? '' : ` ${dev.replace(/^http/, 'ws')}`
  return [
    "default-src 'self'",
    dev === undefined ? "script-src 'self'" : "script-src 'self' 'unsafe-inline'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${devSocket}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "frame-src 'none'",
    "worker-src 'self'",
  ].join('; ')
}

/**
 * scheme://host[:port] of a URL, or undefined when it has no host. Node's URL reports origin 'null' for schemes it
 * does not know, such as our app:, while Chromium reports 'app://outpost' for it (a registered standard scheme).
 */
export function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url)
    return parsed.host === '' ? undefined : `${parsed.protocol}//${parsed.host}`
  } catch {
    return undefined
  }
}

/** True when `url` belongs to the trusted origin (the only place our windows may navigate). */
export function isTrustedUrl(url: string, trustedOrigin: string): boolean {
  return originOf(url) === trustedOrigin
}

/** Links the user may open in their browser: plain http(s) only, never file:, javascript:, smb: or custom schemes. */
export function isExternalWebLink(url: string): boolean {
  try {
    const { protocol } = new URL(url)
    return protocol === 'https:' || protocol === 'http:'
  } catch {
    return false
  }
}

/** Sets the CSP header on every response and refuses every permission request and check. */
export function hardenSession(session: Session, contentSecurityPolicyHeader: string, log: Logger): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(details.responseHeaders ?? {})) {
      // Drop any CSP the server sent (the dev server sends none) so ours is the only one that applies.
      if (name.toLowerCase() !== 'content-security-policy') responseHeaders[name] = value
    }
    responseHeaders['Content-Security-Policy'] = [contentSecurityPolicyHeader]
    callback({ responseHeaders })
  })
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    log.warn('Denied a permission request', { permission })
    callback(false)
  })
  session.setPermissionCheckHandler(() => false)
  session.setDevicePermissionHandler(() => false)
}

export interface WebContentsPolicy {
  trustedOrigin: string
  /** Opens a link in the user's browser (shell.openExternal). */
  openExternal(url: string): Promise<void>
  log: Logger
}

/** Navigation, redirect, new-window and <webview> guards for one web contents. */
export function hardenWebContents(contents: WebContents, policy: WebContentsPolicy): void {
  const { trustedOrigin, log } = policy
  const guard = (event: { preventDefault(): void }, url: string, what: string) => {
    if (isTrustedUrl(url, trustedOrigin)) return
    event.preventDefault()
    log.warn(`Blocked ${what} to a foreign URL`, { url: url.slice(0, 200) })
  }
  contents.on('will-navigate', (event) => guard(event, event.url, 'navigation'))
  contents.on('will-frame-navigate', (event) => guard(event, event.url, 'frame navigation'))
  contents.on('will-redirect', (event) => guard(event, event.url, 'redirect'))
  contents.on('will-attach-webview', (event) => {
    event.preventDefault()
    log.warn('Blocked a <webview>')
  })
  contents.setWindowOpenHandler(({ url }) => {
    if (isExternalWebLink(url)) {
      policy.openExternal(url).catch((error: unknown) => log.warn('Could not open a link in the browser', { url, error: String(error) }))
    } else {
      log.warn('Blocked a new window', { url: url.slice(0, 200) })
    }
    return { action: 'deny' }
  })
}

/** Hardens every web contents the app ever creates (windows, devtools, anything a library opens). */
export function hardenAllWebContents(app: App, policy: WebContentsPolicy): void {
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, policy))
}
