import { z } from 'zod'
import { Instant } from '../domain/ids.ts'
import type { EventTable, MethodTable } from '../rpc/types.ts'

export const SystemInfo = z.object({
  productVersion: z.string(),
  /** 'electron' when the desktop window hosts the UI, 'headless' when a browser does. */
  host: z.enum(['electron', 'headless']),
  dataDir: z.string(),
  databaseFile: z.string(),
  /** The MQTT URL agents should use, e.g. mqtt://127.0.0.1:1883. */
  brokerUrl: z.string(),
  brokerKind: z.enum(['embedded', 'external']),
  startedAt: Instant,
})
export type SystemInfo = z.infer<typeof SystemInfo>

/** Requests about the control center itself. */
export const systemMethods = {
  /** Versions, paths and broker of the running control center. */
  'system.info': { input: z.object({}), output: SystemInfo },
} as const satisfies MethodTable

export const systemEvents = {} as const satisfies EventTable
