/** Broker URLs given on the command line or in config. Pure. */

const SUPPORTED_PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:']

export type BrokerUrlCheck =
  | { ok: true; url: string; displayUrl: string; username: string | undefined; password: string | undefined }
  | { ok: false; reason: string }

/**
 * Accepts mqtt://, mqtts://, ws:// and wss:// URLs with a host. `displayUrl` drops any credentials so it can be
 * logged and shown; credentials embedded in the URL are returned separately.
 */
export function checkBrokerUrl(text: string): BrokerUrlCheck {
  let url: URL
  try {
    url = new URL(text.trim())
  } catch {
    return { ok: false, reason: 'it is not a URL' }
  }
  if (!SUPPORTED_PROTOCOLS.includes(url.protocol)) return { ok: false, reason: `the scheme '${url.protocol}' is not one of mqtt:, mqtts:, ws:, wss:` }
  if (!url.hostname) return { ok: false, reason: 'it has no host' }
  const username = url.username ? decodeURIComponent(url.username) : undefined
  const password = url.password ? decodeURIComponent(url.password) : undefined
  const display = new URL(url.href)
  display.username = ''
  display.password = ''
  return { ok: true, url: url.href, displayUrl: display.href.replace(/\/$/, ''), username, password }
}

/**
 * mqtt://HOST:PORT for a listening address. IPv6 literals get brackets; a wildcard bind (0.0.0.0, ::) is shown as
 * `wildcardHost` (the machine's host name, so other machines can use the URL).
 */
export function brokerUrlFor(host: string, port: number, wildcardHost = '127.0.0.1'): string {
  const reachableHost = host === '0.0.0.0' || host === '' || host === '::' ? wildcardHost : host
  return `mqtt://${reachableHost.includes(':') ? `[${reachableHost}]` : reachableHost}:${port}`
}
