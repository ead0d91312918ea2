/**
 * Child process for the delivery baseline: N plain mqtt.js subscribers on one broker. Prints `ready` once every
 * subscription is granted and `done` once every subscriber has received `--messages` messages totalling `--bytes`.
 * Usage: node bench/support/fanoutSubscribers.ts --url URL --username U --count N --filter F --messages M --bytes B
 * (password in env OUTPOST_BENCH_BROKER_PASSWORD). Exits by itself after `--timeout-ms` so it can never linger.
 */
import { parseArgs } from 'node:util'
import { connectAsync, type MqttClient } from 'mqtt'

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    username: { type: 'string' },
    count: { type: 'string' },
    filter: { type: 'string' },
    messages: { type: 'string' },
    bytes: { type: 'string' },
    'timeout-ms': { type: 'string', default: '120000' },
  },
})
const url = values.url ?? ''
const count = Number(values.count)
const expectedMessages = Number(values.messages)
const expectedBytes = Number(values.bytes)
const filter = values.filter ?? ''

setTimeout(() => {
  console.error(`fanout subscribers: gave up after ${values['timeout-ms']} ms`)
  process.exit(3)
}, Number(values['timeout-ms'])).unref()

const clients: MqttClient[] = []
let finished = 0
for (let i = 0; i < count; i += 1) {
  const client = await connectAsync(url, {
    clientId: `${values.username ?? ''}-bench-sub-${process.pid}-${i}`,
    username: values.username ?? '',
    password: process.env.OUTPOST_BENCH_BROKER_PASSWORD ?? '',
    reconnectPeriod: 0,
  })
  clients.push(client)
  let messages = 0
  let bytes = 0
  client.on('message', (_topic, payload) => {
    messages += 1
    bytes += payload.byteLength
    if (messages === expectedMessages) {
      if (bytes !== expectedBytes) {
        console.error(`subscriber ${i} received ${bytes} bytes, expected ${expectedBytes}`)
        process.exit(4)
      }
      finished += 1
      if (finished === count) console.log('done')
    }
  })
  // QoS 1, as the agent subscribes to its down/ subtree.
  const grants = await client.subscribeAsync(filter, { qos: 1 })
  if (grants.some((grant) => grant.qos === 128)) {
    console.error(`the broker refused the subscription to ${filter}`)
    process.exit(5)
  }
}
console.log('ready')

process.on('SIGTERM', () => {
  Promise.all(clients.map((client) => client.endAsync(true))).then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
