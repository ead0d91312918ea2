import { outpostEvents, outpostMethods } from '../../src-shared/contract/index.ts'
import type { Transport } from '../../src-shared/rpc/envelope.ts'
import { createRpcClient, type RpcClientOptions } from '../../src-shared/rpc/createRpcClient.ts'

/** The typed client for the whole contract; the transport (IPC, WebSocket, memory) is chosen by the caller. */
export function createOutpostClient(transport: Transport, options: RpcClientOptions = {}) {
  return createRpcClient(outpostMethods, outpostEvents, transport, options)
}

export type OutpostClient = ReturnType<typeof createOutpostClient>
