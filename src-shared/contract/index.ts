/** The whole RPC surface the renderer (and the CLI over WebSocket) may call: the union of the feature tables. */
import { devicesEvents, devicesMethods } from './devicesContract.ts'
import { modelsEvents, modelsMethods } from './modelsContract.ts'
import { packagingEvents, packagingMethods } from './packagingContract.ts'
import { releasesEvents, releasesMethods } from './releasesContract.ts'
import { rolloutsEvents, rolloutsMethods } from './rolloutsContract.ts'
import { systemEvents, systemMethods } from './systemContract.ts'
import { telemetryEvents, telemetryMethods } from './telemetryContract.ts'

export const outpostMethods = { ...systemMethods, ...devicesMethods, ...modelsMethods, ...packagingMethods, ...releasesMethods, ...rolloutsMethods, ...telemetryMethods } as const
export const outpostEvents = { ...systemEvents, ...devicesEvents, ...modelsEvents, ...packagingEvents, ...releasesEvents, ...rolloutsEvents, ...telemetryEvents } as const
export type OutpostMethods = typeof outpostMethods
export type OutpostEvents = typeof outpostEvents

export * from './devicesContract.ts'
export * from './modelsContract.ts'
export * from './packagingContract.ts'
export * from './releasesContract.ts'
export * from './rolloutsContract.ts'
export * from './systemContract.ts'
export * from './telemetryContract.ts'
