import { homedir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAgentArgs, validateBrokerUrl } from './cliOptions.ts'

const parse = (argv: string[], env: Record<string, string> = {}) => parseAgentArgs(argv, env)
const codeOf = (run: () => unknown): string | undefined => {
  try {
    run()
    return undefined
  } catch (error) {
    return (error as { code?: string }).code
  }
}

describe('parseAgentArgs', () => {
  it('parses a single agent with defaults', () => {
    expect(parse(['--broker', 'mqtt://127.0.0.1:1883', '--device-id', 'd-1'])).toEqual({
      kind: 'run',
      brokerUrl: 'mqtt://127.0.0.1:1883',
      deviceId: 'd-1',
      dataDir: join(homedir(), '.outpost-agent', 'd-1'),
      logLevel: 'info',
      telemetryIntervalMs: 60_000,
      heartbeatIntervalMs: 15_000,
      workloadRatePerS: 0,
      api: { kind: 'port', port: 8470 },
      soakMs: 60_000,
      stepTimeoutMs: 120_000,
    })
  })

  it('takes the password from the environment when no flag gives one', () => {
    const command = parse(['--broker', 'mqtt://h', '--username', 'd-1', '--data-dir', '/tmp/x'], { OUTPOST_AGENT_PASSWORD: 'secret' })
    expect(command).toMatchObject({ kind: 'run', deviceId: 'd-1', password: 'secret', dataDir: '/tmp/x' })
    expect(parse(['--broker', 'mqtt://h', '--device-id', 'd-1', '--password', 'flag'], { OUTPOST_AGENT_PASSWORD: 'env' })).toMatchObject({ password: 'flag' })
  })

  it('parses a simulation with its defaults and timings', () => {
    expect(
      parse(['--simulate', '5', '--broker', 'ws://h:9001', '--data-dir', '/tmp/sim', '--telemetry-interval-s', '0.5', '--heartbeat-interval-s', '2']),
    ).toEqual({
      kind: 'simulate',
      count: 5,
      brokerUrl: 'ws://h:9001',
      dataDir: '/tmp/sim',
      idPrefix: 'sim',
      logLevel: 'info',
      telemetryIntervalMs: 500,
      heartbeatIntervalMs: 2_000,
      workloadRatePerS: 2,
      soakMs: 5_000,
      stepTimeoutMs: 120_000,
    })
  })

  it('parses the local API, health-gate and provider options', () => {
    const base = ['--broker', 'mqtt://h', '--device-id', 'd-1']
    expect(parse([...base, '--api-port', '0', '--soak-s', '0', '--step-timeout-s', '2.5', '--execution-providers', 'CUDA,cpu'])).toMatchObject({
      api: { kind: 'port', port: 0 },
      soakMs: 0,
      stepTimeoutMs: 2_500,
      executionProviderOrder: ['cuda', 'cpu'],
    })
    expect(parse([...base, '--api-socket', '/tmp/agent.sock'])).toMatchObject({ api: { kind: 'socket', socketPath: '/tmp/agent.sock' } })
    expect(parse([...base, '--no-api'])).toMatchObject({ api: { kind: 'off' } })
    expect(parse(['--simulate', '3', '--broker', 'mqtt://h', '--api-port-base', '9000'])).toMatchObject({ kind: 'simulate', apiPortBase: 9000 })
    expect(parse(['--simulate', '3', '--broker', 'mqtt://h'])).not.toHaveProperty('apiPortBase')
  })

  it('parses the fault-injection and drift options', () => {
    const command = parse([
      '--simulate', '4', '--broker', 'mqtt://h',
      '--fault-extra-latency-ms', '25', '--fault-health-fail-ratio', '0.25', '--fault-crash-during-install', 'trial',
      '--fault-flaky-network', '--fault-flaky-mean-s', '2', '--drift-after-s', '30', '--drift-shift=-0.5',
    ])
    expect(command).toMatchObject({
      faults: { extraLatencyMs: 25, healthFailRatio: 0.25, crashAtState: 'trial', flakyMeanConnectedMs: 2_000 },
      drift: { afterMs: 30_000, shift: -0.5 },
    })
    expect(parse(['--simulate', '1', '--broker', 'mqtt://h', '--fault-flaky-network'])).toMatchObject({ faults: { flakyMeanConnectedMs: 10_000 } })
    expect(parse(['--simulate', '1', '--broker', 'mqtt://h'])).not.toHaveProperty('faults')
  })

  it('answers --help and --probe without requiring a broker', () => {
    expect(parse(['--help'])).toEqual({ kind: 'help' })
    expect(parse(['--probe', '--json'])).toEqual({ kind: 'probe', isJson: true, logLevel: 'info' })
  })

  it.each([
    [['--bogus'], 'invalid-input'],
    [['--broker', 'mqtt://h'], 'invalid-input'],
    [['--device-id', 'd-1'], 'invalid-input'],
    [['--broker', 'http://h', '--device-id', 'd-1'], 'broker-url-invalid'],
    [['--broker', 'not a url', '--device-id', 'd-1'], 'broker-url-invalid'],
    [['--broker', 'mqtt://h', '--device-id', 'd/1'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--username', 'd-2'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--simulate', '0'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--simulate', '2.5'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--simulate', '2', '--device-id', 'd-1'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--simulate', '2', '--id-prefix', 'a/b'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--telemetry-interval-s', '0'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--workload-rate', '-1'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--log-level', 'chatty'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', 'positional'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--api-port', '70000'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--api-port', '1', '--no-api'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--api-port-base', '9000'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--simulate', '2', '--api-port', '9000'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--simulate', '2', '--api-port-base', '65535'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--soak-s', '-1'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--fault-health-fail-ratio', '1.5'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--fault-crash-during-install', 'idle'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--fault-flaky-mean-s', '3'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--drift-after-s', '3'], 'invalid-input'],
    [['--broker', 'mqtt://h', '--device-id', 'd-1', '--drift-after-s', '3', '--drift-shift', 'far'], 'invalid-input'],
  ])('rejects %j with %s', (argv, code) => {
    expect(codeOf(() => parse(argv))).toBe(code)
  })

  it('accepts the four broker schemes', () => {
    for (const url of ['mqtt://h:1883', 'mqtts://h', 'ws://h/mqtt', 'wss://h']) expect(validateBrokerUrl(url)).toBe(url)
  })
})
