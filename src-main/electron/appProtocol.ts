/**
 * The privileged `app://outpost/` scheme that serves the built renderer from out/renderer. A custom standard, secure
 * scheme gives the page a real origin ('app://outpost') that main can check on every IPC message, where file://
 * would give an opaque one shared with every local file (Electron security checklist, "use a custom protocol").
 */
import { readFile } from 'node:fs/promises'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import type { CustomScheme } from 'electron'
import { contentTypeFor } from '../core/web/contentTypes.ts'

export const APP_SCHEME = 'app'
export const APP_HOST = 'outpost'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`

/** Must be registered before the app is ready (protocol.registerSchemesAsPrivileged). */
export const appScheme: CustomScheme = {
  scheme: APP_SCHEME,
  // standard: parsed like http (host, path, origin); secure: a secure context like https; no bypassCSP, no CORS.
  privileges: { standard: true, secure: true, supportFetchAPI: true },
}

/**
 * Maps an `app://outpost/...` URL to a file inside `rendererDir`, or undefined when the URL names another host or
 * would leave the folder (`..`, encoded `%2e%2e%2f`, backslashes, NUL). `/` maps to index.html.
 */
export function resolveRendererFile(rendererDir: string, requestUrl: string): string | undefined {
  let url: URL
  try {
    url = new URL(requestUrl)
  } catch {
    return undefined
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return undefined
  let pathname: string
  try {
    pathname = decodeURIComponent(url.pathname)
  } catch {
    return undefined
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return undefined
  const root = resolve(rendererDir)
  const file = resolve(root, `.${pathname.endsWith('/') ? `${pathname}index.html` : pathname}`)
  const inside = relative(root, file)
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return undefined
  return file
}

export interface AppProtocolOptions {
  rendererDir: string
  /** Sent with every response: webRequest.onHeadersReceived does not see custom-protocol responses. */
  contentSecurityPolicy: string
}

/** The handler for protocol.handle(APP_SCHEME, ...): serves only files under rendererDir, GET and HEAD only. */
export function createAppProtocolHandler(options: AppProtocolOptions): (request: Request) => Promise<Response> {
  const baseHeaders = {
    'content-security-policy': options.contentSecurityPolicy,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
  }
  const refuse = (status: number, text: string) =>
    new Response(text, { status, headers: { ...baseHeaders, 'content-type': 'text/plain; charset=utf-8' } })

  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, 'Method not allowed')
    const file = resolveRendererFile(options.rendererDir, request.url)
    if (file === undefined) return refuse(403, 'Forbidden')
    let body: Buffer
    try {
      body = await readFile(file)
    } catch {
      return refuse(404, 'Not found')
    }
    const headers = { ...baseHeaders, 'content-type': contentTypeFor(file) }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers })
  }
}
