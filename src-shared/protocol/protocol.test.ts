import { describe, expect, it } from 'vitest'
import {
  emptyLatencyCounts,
  LATENCY_BUCKET_UPPER_MS,
  latencyBucketIndex,
  latencyQuantileMs,
} from './latencyHistogram.ts'
import { encodeMessage, MAX_CONTROL_MESSAGE_BYTES, parseMessage, StatusMessage } from './messages.ts'
import { canDevicePublish, canDeviceSubscribe, parseDownTopic, parseUpTopic, topics } from './topics.ts'

const sha = 'a'.repeat(64)

describe('topics', () => {
  it('round-trips every upstream topic through parseUpTopic', () => {
    for (const [kind, build] of [
      ['status', topics.status],
      ['sync', topics.sync],
      ['heartbeat', topics.heartbeat],
      ['telemetry', topics.telemetry],
      ['report', topics.report],
      ['req', topics.request],
    ] as const) {
      expect(parseUpTopic(build('d-1'))).toEqual({ deviceId: 'd-1', kind })
    }
  })

  it('parses downstream topics addressed to the device and nothing else', () => {
    expect(parseDownTopic('d-1', topics.desired('d-1'))).toEqual({ kind: 'desired' })
    expect(parseDownTopic('d-1', topics.chunk('d-1', sha, 7))).toEqual({ kind: 'chunk', sha256: sha, index: 7 })
    expect(parseDownTopic('d-1', topics.chunkList('d-1', sha))).toEqual({ kind: 'chunklist', sha256: sha })
    expect(parseDownTopic('d-1', topics.desired('d-2'))).toBeUndefined()
    expect(parseDownTopic('d-1', `${topics.chunk('d-1', sha, 1)}/extra`)).toBeUndefined()
    expect(parseDownTopic('d-1', topics.chunk('d-1', 'XYZ', 1))).toBeUndefined()
  })

  it('lets a device publish only in its own up subtree', () => {
    expect(canDevicePublish('d-1', topics.report('d-1'))).toBe(true)
    expect(canDevicePublish('d-1', topics.report('d-2'))).toBe(false)
    expect(canDevicePublish('d-1', topics.desired('d-1'))).toBe(false)
    expect(canDevicePublish('d-1', 'outpost/v1/d/d-1/up/report/extra')).toBe(false)
    expect(canDevicePublish('d-1', '$SYS/broker/uptime')).toBe(false)
  })

  it('lets a device subscribe only to its own down subtree, without wildcards elsewhere', () => {
    expect(canDeviceSubscribe('d-1', topics.deviceDownFilter('d-1'))).toBe(true)
    expect(canDeviceSubscribe('d-1', topics.desired('d-1'))).toBe(true)
    expect(canDeviceSubscribe('d-1', topics.deviceDownFilter('d-2'))).toBe(false)
    expect(canDeviceSubscribe('d-1', '#')).toBe(false)
    expect(canDeviceSubscribe('d-1', 'outpost/v1/d/+/down/#')).toBe(false)
    expect(canDeviceSubscribe('d-1', topics.allUpFilter)).toBe(false)
  })
})

describe('parseMessage', () => {
  const status = { v: 1, deviceId: 'd-1', isOnline: true, at: '2026-11-24T01:00:00.000Z' }

  it('accepts a valid message', () => {
    expect(parseMessage(StatusMessage, encodeMessage(status), MAX_CONTROL_MESSAGE_BYTES)).toEqual({ ok: true, value: status })
  })

  it('refuses oversized payloads before parsing them', () => {
    const big = new Uint8Array(MAX_CONTROL_MESSAGE_BYTES + 1).fill(0x20)
    expect(parseMessage(StatusMessage, big, MAX_CONTROL_MESSAGE_BYTES)).toMatchObject({ ok: false, reason: 'too-large' })
  })

  it('refuses bytes that are not UTF-8 JSON', () => {
    expect(parseMessage(StatusMessage, new Uint8Array([0xff, 0xfe, 0x00]), 100)).toMatchObject({ ok: false, reason: 'not-json' })
    expect(parseMessage(StatusMessage, encodeMessage('{').subarray(1), 100)).toMatchObject({ ok: false, reason: 'not-json' })
  })

  it('refuses a message of the wrong protocol version or with a bad device id', () => {
    expect(parseMessage(StatusMessage, encodeMessage({ ...status, v: 2 }), 1000)).toMatchObject({ ok: false, reason: 'schema' })
    expect(parseMessage(StatusMessage, encodeMessage({ ...status, deviceId: 'a/#' }), 1000)).toMatchObject({ ok: false, reason: 'schema' })
  })
})

describe('latency histogram', () => {
  it('has increasing bucket bounds', () => {
    for (let i = 1; i < LATENCY_BUCKET_UPPER_MS.length; i++) {
      expect(LATENCY_BUCKET_UPPER_MS[i]!).toBeGreaterThan(LATENCY_BUCKET_UPPER_MS[i - 1]!)
    }
  })

  it('puts a value in the first bucket whose upper bound holds it', () => {
    expect(latencyBucketIndex(0)).toBe(0)
    expect(latencyBucketIndex(LATENCY_BUCKET_UPPER_MS[5]!)).toBe(5)
    expect(latencyBucketIndex(LATENCY_BUCKET_UPPER_MS[5]! + 1e-9)).toBe(6)
    expect(latencyBucketIndex(1e12)).toBe(LATENCY_BUCKET_UPPER_MS.length)
  })

  it('estimates quantiles within one bucket width of the exact value', () => {
    const samples = Array.from({ length: 10_000 }, (_, i) => 0.5 + (i % 997) * 0.05)
    const counts = emptyLatencyCounts()
    for (const sample of samples) counts[latencyBucketIndex(sample)]! += 1
    const sorted = [...samples].sort((a, b) => a - b)
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!
      const estimate = latencyQuantileMs(counts, q)
      expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.2)
    }
  })

  it('gives 0 for an empty histogram', () => {
    expect(latencyQuantileMs(emptyLatencyCounts(), 0.5)).toBe(0)
  })
})
