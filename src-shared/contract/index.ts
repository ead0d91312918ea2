/** The whole RPC surface the renderer (and the CLI over WebSocket) may call: the union of the feature tables. */
import { devicesEvents, devicesMethods } from './devicesContract.ts'
import { modelsEvents, modelsMethods } from './modelsContract.ts'
import { systemEvents, systemMethods } from './systemContract.ts'

export const outpostMethods = { ...systemMethods, ...devicesMethods, ...modelsMethods } as const
export const outpostEvents = { ...systemEvents, ...devicesEvents, ...modelsEvents } as const
export type OutpostMethods = typeof outpostMethods
export type OutpostEvents = typeof outpostEvents

export * from './devicesContract.ts'
export * from './modelsContract.ts'
export * from './systemContract.ts'
