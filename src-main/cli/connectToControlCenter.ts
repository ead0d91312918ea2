import { homedir } from 'node:os'
import path from 'node:path'
import { WebSocket } from 'ws'
import { outpostEvents, outpostMethods, type OutpostEvents, type OutpostMethods } from '../../src-shared/contract/index.ts'
import { AppError } from '../../src-shared/errors.ts'
import { silentLogger } from '../../src-shared/log.ts'
import { createRpcClient } from '../../src-shared/rpc/createRpcClient.ts'
import { MAX_RPC_MESSAGE_BYTES } from '../../src-shared/rpc/envelope.ts'
import { resolveDefaultDataDir } from '../core/config/resolveDefaultDataDir.ts'
import { subprotocolsFor, validateAccessToken } from '../headless/accessToken.ts'
import { createSocketTransport } from '../headless/socketTransport.ts'
import type { CliContext } from './cliContext.ts'
import { envValue, UsageError } from './flags.ts'
import { readServerFile, serverFilePath } from './serverFile.ts'

export type OutpostClient = ReturnType<typeof createRpcClient<OutpostMethods, OutpostEvents>>

/** The flags every command that talks to a running control center accepts. */
export const connectionFlags = {
  url: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
} as const

export interface ConnectionFlagValues {
  url?: string | undefined
  token?: string | undefined
  'data-dir'?: string | undefined
}

export interface ControlCenterTarget {
  rpcUrl: string
  token: string
  /** Where the address came from, for error messages. */
  source: string
}

const CONNECT_TIMEOUT_MS = 5000
/** Long enough for a model import to load and check a large file. */
const CALL_TIMEOUT_MS = 120_000

/** Turns http://HOST:PORT/#token=T (what serve prints) or ws://HOST:PORT/rpc into the socket address and token. */
export function parseControlCenterUrl(text: string, tokenOverride: string | undefined, source: string): ControlCenterTarget {
  const fail = (message: string) => (source === '--url' ? new UsageError(message) : new AppError('invalid-input', message))
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw fail(`${source} must be an address like http://127.0.0.1:7420/#token=TOKEN, not '${text}'`)
  }
  const schemes: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }
  const scheme = schemes[url.protocol]
  if (scheme === undefined) throw fail(`${source} must start with http:// or ws://, not '${url.protocol}//'`)
  const token = tokenOverride ?? (new URLSearchParams(url.hash.slice(1)).get('token') || undefined)
  if (token === undefined) {
    throw fail(`${source} carries no access token; pass the whole address serve printed (…/#token=TOKEN) or --token`)
  }
  const rpcPath = scheme === url.protocol && url.pathname !== '/' ? url.pathname : '/rpc'
  return { rpcUrl: `${scheme}//${url.host}${rpcPath}`, token, source }
}

/** --url, else $OUTPOST_URL, else the address a server on this data directory left behind. */
export function resolveControlCenterTarget(flags: ConnectionFlagValues, context: CliContext): ControlCenterTarget {
  if (flags.url !== undefined) return parseControlCenterUrl(flags.url, flags.token, '--url')
  const envUrl = envValue(context.env, 'OUTPOST_URL')
  if (envUrl !== undefined) return parseControlCenterUrl(envUrl, flags.token, 'OUTPOST_URL')
  const dataDir = resolveDataDir(flags['data-dir'], context)
  const serverFile = readServerFile(dataDir)
  if (serverFile === undefined) {
    throw new AppError(
      'unavailable',
      `No control center is running for data directory ${dataDir}; start one with \`outpost serve\`, or pass --url`,
      { dataDir, serverFile: serverFilePath(dataDir) },
    )
  }
  return { rpcUrl: serverFile.rpcUrl, token: flags.token ?? serverFile.token, source: `the server on ${dataDir}` }
}

/** --data-dir, else $OUTPOST_DATA_DIR, else the per-user folder; relative paths are taken from the working directory. */
export function resolveDataDir(flag: string | undefined, context: CliContext): string {
  return path.resolve(context.cwd, flag ?? resolveDefaultDataDir(context.env, process.platform, homedir()))
}

/** Connects, runs `work` with a typed client, and always closes the socket. */
export async function withControlCenter<T>(
  flags: ConnectionFlagValues,
  context: CliContext,
  work: (client: OutpostClient) => Promise<T>,
): Promise<T> {
  const target = resolveControlCenterTarget(flags, context)
  const socket = await openSocket(target)
  const transport = createSocketTransport(socket, { log: silentLogger, maxMessageBytes: MAX_RPC_MESSAGE_BYTES })
  const client = createRpcClient(outpostMethods, outpostEvents, transport, { callTimeoutMs: CALL_TIMEOUT_MS })
  socket.on('close', () => client.close(`The control center at ${target.rpcUrl} closed the connection`))
  try {
    return await work(client)
  } finally {
    client.close()
    socket.close(1000)
  }
}

function openSocket(target: ControlCenterTarget): Promise<WebSocket> {
  const token = validateAccessToken(target.token)
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(target.rpcUrl, subprotocolsFor(token), {
      handshakeTimeout: CONNECT_TIMEOUT_MS,
      maxPayload: MAX_RPC_MESSAGE_BYTES,
    })
    const unreachable = (reason: string) =>
      new AppError('unavailable', `Could not reach the control center at ${target.rpcUrl} (${reason}); is \`outpost serve\` running?`, {
        rpcUrl: target.rpcUrl,
      })
    socket.once('open', () => {
      // Later socket errors surface as a close, which fails pending calls with 'unavailable'.
      socket.on('error', () => {})
      resolve(socket)
    })
    socket.once('unexpected-response', (request, response) => {
      const status = response.statusCode ?? 0
      request.destroy()
      if (status === 401) {
        reject(new AppError('unauthorized', `The control center at ${target.rpcUrl} refused the access token from ${target.source}`))
      } else if (status === 403) {
        reject(new AppError('forbidden', `The control center at ${target.rpcUrl} refused this connection (HTTP 403)`))
      } else {
        reject(unreachable(`HTTP ${status}`))
      }
    })
    socket.once('error', (error: NodeJS.ErrnoException) => reject(unreachable(error.code ?? error.message)))
  })
}
