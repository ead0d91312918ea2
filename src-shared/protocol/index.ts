export * from './latencyHistogram.ts'
export * from './messages.ts'
export * from './topics.ts'
