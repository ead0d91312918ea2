import type { z } from 'zod'

/** A contract table: method name ('<feature>.<verb>') -> input and output schemas. */
export type MethodTable = Record<string, { input: z.ZodType; output: z.ZodType }>
/** Pushed events: topic ('<noun>.<pastParticiple>') -> payload schema. */
export type EventTable = Record<string, z.ZodType>
export type Input<T extends MethodTable, M extends keyof T> = z.infer<T[M]['input']>
export type Output<T extends MethodTable, M extends keyof T> = z.infer<T[M]['output']>
/** What a host must provide: a missing or mistyped handler is a compile error. */
export type Handlers<T extends MethodTable> = {
  [M in keyof T]: (input: Input<T, M>, context: CallContext) => Promise<Output<T, M>>
}
/** Who is calling: lets handlers audit and report progress to the caller. */
export interface CallContext {
  /** A stable id for the connection that made the call (one per window or WebSocket). */
  connectionId: string
}
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, error?: unknown, fields?: Record<string, unknown>): void
}
