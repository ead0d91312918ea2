import { z } from 'zod'
import { errorCodes, type WireError } from '../errors.ts'

/**
 * One message channel for calls, results and pushed events (VS Code's IMessagePassingProtocol shape).
 * No per-method ipcMain.handle, so errors never lose fields (electron/electron#24427).
 */
export type RpcMessage =
  | { kind: 'call'; id: number; method: string; input: unknown }
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: WireError }
  | { kind: 'event'; topic: string; payload: unknown }

/** All a transport must do. Electron IPC, WebSocket and the in-memory pair implement it. */
export interface Transport {
  send(message: RpcMessage): void
  onMessage(listener: (message: RpcMessage) => void): () => void
}

const WireErrorSchema = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
})

/** Shape check for messages arriving from an untrusted side (renderer, socket). */
export const RpcMessageSchema = z.union([
  z.object({ kind: z.literal('call'), id: z.number().int().nonnegative(), method: z.string().max(200), input: z.unknown() }),
  z.object({ kind: z.literal('result'), id: z.number().int().nonnegative(), ok: z.literal(true), value: z.unknown() }),
  z.object({ kind: z.literal('result'), id: z.number().int().nonnegative(), ok: z.literal(false), error: WireErrorSchema }),
  z.object({ kind: z.literal('event'), topic: z.string().max(200), payload: z.unknown() }),
])

export function isRpcMessage(value: unknown): value is RpcMessage {
  return RpcMessageSchema.safeParse(value).success
}

/** Largest RPC message a host accepts (model uploads travel base64 inside one call). */
export const MAX_RPC_MESSAGE_BYTES = 256 * 1024 * 1024
