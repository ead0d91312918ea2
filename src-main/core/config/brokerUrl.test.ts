import { describe, expect, it } from 'vitest'
import { brokerUrlFor, checkBrokerUrl } from './brokerUrl.ts'

describe('checkBrokerUrl', () => {
  it.each(['mqtt://127.0.0.1:1883', 'mqtts://broker.example.com', 'ws://h:8080/mqtt', 'wss://h/mqtt'])('accepts %s', (url) => {
    expect(checkBrokerUrl(url).ok).toBe(true)
  })

  it.each([
    ['localhost:1883', /scheme/],
    ['not a url', /not a URL/],
    ['http://h:1883', /scheme 'http:'/],
    ['mqtt://', /not a URL|no host/],
  ])('rejects %s', (url, reason) => {
    const check = checkBrokerUrl(url)
    expect(check.ok).toBe(false)
    if (!check.ok) expect(check.reason).toMatch(reason)
  })

  it('separates credentials from the URL it shows', () => {
    expect(checkBrokerUrl('mqtt://cc:s%40cret@h:1883')).toMatchObject({ ok: true, displayUrl: 'mqtt://h:1883', username: 'cc', password: 's@cret' })
  })

  it('builds reachable URLs for listening addresses', () => {
    expect(brokerUrlFor('127.0.0.1', 1883)).toBe('mqtt://127.0.0.1:1883')
    expect(brokerUrlFor('0.0.0.0', 1)).toBe('mqtt://127.0.0.1:1')
    expect(brokerUrlFor('::', 1, 'edge-hub')).toBe('mqtt://edge-hub:1')
    expect(brokerUrlFor('::1', 2)).toBe('mqtt://[::1]:2')
  })
})
