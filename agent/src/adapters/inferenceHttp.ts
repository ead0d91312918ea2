/**
 * The local inference API for apps on the device, over HTTP on 127.0.0.1 or a Unix socket:
 *   POST /v1/models/{name}/infer   JSON {inputs:{NAME:{type?,dims,data}}}, or application/octet-stream with
 *                                  x-outpost-dims (and x-outpost-input, x-outpost-type) for one input; send
 *                                  `accept: application/octet-stream` for raw output bytes (x-outpost-output picks one)
 *   GET  /v1/models/{name}         metadata of the served model
 *   GET  /healthz                  200 while a model is served, else 503
 * `{name}` is the served model's name or `active`. Errors are JSON {code, message} with a matching HTTP status.
 * Requests keep being served while an update installs: InferenceService switches sessions atomically.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import { connect } from 'node:net'
import { unlink } from 'node:fs/promises'
import { z } from 'zod'
import { AppError, type ErrorCode } from '../../../src-shared/errors.ts'
import type { Logger } from '../../../src-shared/rpc/types.ts'
import { parseDimsHeader, tensorFromBytes, tensorFromJson, tensorToBytes, tensorToJson } from '../core/jsonTensor.ts'
import type { TensorValue } from '../core/tensorValue.ts'
import type { InferenceService } from '../ports/inferenceService.ts'

/** Default port of a single agent's API. */
export const DEFAULT_API_PORT = 8470
/** Request bodies above this are refused with 413 before they are parsed. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024

export type ApiListen = { port: number } | { socketPath: string }

export interface InferenceHttpOptions {
  service: InferenceService
  listen: ApiListen
  maxBodyBytes?: number
  log: Logger
}

export interface InferenceHttpServer {
  /** http://127.0.0.1:PORT, or unix:PATH for a socket. */
  url: string
  port: number | null
  socketPath: string | null
  close(): Promise<void>
}

const InferRequest = z.object({
  inputs: z.record(
    z.string().min(1).max(256),
    z.object({ type: z.string().max(16).optional(), dims: z.array(z.number()).max(8), data: z.array(z.unknown()) }),
  ),
})

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  'invalid-input': 400,
  'not-found': 404,
  'message-too-large': 413,
  'model-unsupported': 415,
  'inference-failed': 422,
  unavailable: 503,
  timeout: 504,
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers })
  response.end(text)
}

function sendError(response: ServerResponse, error: AppError, headers: Record<string, string> = {}): void {
  send(response, STATUS_BY_CODE[error.code] ?? 500, { code: error.code, message: error.message }, headers)
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new AppError('message-too-large', `The request body is larger than ${maxBytes} bytes`, { maxBytes })
  const declared = Number(header(request, 'content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge())
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let sizeBytes = 0
    const onData = (chunk: Buffer) => {
      sizeBytes += chunk.byteLength
      if (sizeBytes <= maxBytes) return void chunks.push(chunk)
      request.off('data', onData)
      // Keep draining without buffering; the 413 closes the connection.
      request.resume()
      reject(tooLarge())
    }
    request.on('data', onData)
    request.once('end', () => resolve(Buffer.concat(chunks)))
    request.once('error', reject)
  })
}

async function parseFeeds(request: IncomingMessage, body: Buffer, inputs: ReadonlyArray<{ name: string; elementType: string }>): Promise<Record<string, TensorValue>> {
  const contentType = (header(request, 'content-type') ?? 'application/json').split(';')[0]?.trim().toLowerCase()
  if (contentType === 'application/octet-stream') {
    const only = inputs.length === 1 ? inputs[0]?.name : undefined
    const inputName = header(request, 'x-outpost-input') ?? only
    if (inputName === undefined) throw new AppError('invalid-input', 'This model has several inputs; name one with x-outpost-input, or send JSON')
    const input = inputs.find((candidate) => candidate.name === inputName)
    if (input === undefined) throw new AppError('invalid-input', `The model has no input named ${inputName}`, { input: inputName })
    const type = header(request, 'x-outpost-type') ?? input.elementType
    return { [inputName]: tensorFromBytes(inputName, type, parseDimsHeader(header(request, 'x-outpost-dims')), body) }
  }
  if (contentType !== 'application/json') {
    throw new AppError('model-unsupported', `Content type ${contentType ?? ''} is not accepted; send application/json or application/octet-stream`)
  }
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch {
    throw new AppError('invalid-input', 'The request body is not valid JSON')
  }
  const parsed = InferRequest.safeParse(json)
  if (!parsed.success) {
    throw new AppError('invalid-input', `The request must look like {"inputs":{"NAME":{"type","dims","data"}}}: ${z.prettifyError(parsed.error).slice(0, 300)}`)
  }
  const feeds: Record<string, TensorValue> = {}
  for (const [name, tensor] of Object.entries(parsed.data.inputs)) {
    feeds[name] = tensorFromJson(name, tensor, inputs.find((input) => input.name === name)?.elementType)
  }
  return feeds
}

async function listen(server: Server, target: ApiListen): Promise<void> {
  const attempt = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      const done = () => {
        server.off('error', reject)
        resolve()
      }
      if ('socketPath' in target) server.listen(target.socketPath, done)
      else server.listen(target.port, '127.0.0.1', done)
    })
  try {
    await attempt()
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown'
    if (code !== 'EADDRINUSE') throw new AppError('unavailable', `The inference API cannot listen (${code})`, { code })
    if ('socketPath' in target && !(await isSocketLive(target.socketPath))) {
      // A socket file left by a crashed agent: nobody answers on it, so it is safe to replace.
      await unlink(target.socketPath)
      await attempt()
      return
    }
    const where = 'socketPath' in target ? target.socketPath : `127.0.0.1:${target.port}`
    throw new AppError('port-in-use', `The inference API address ${where} is in use; pass another --api-port or --api-socket`, { where })
  }
}

function isSocketLive(socketPath: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(socketPath)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Starts the API. Throws AppError 'port-in-use' when the port or socket is taken. */
export async function startInferenceHttp(options: InferenceHttpOptions): Promise<InferenceHttpServer> {
  const { service, log } = options
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    const method = request.method ?? 'GET'
    const allow = (methods: string) => {
      if (methods.split(', ').includes(method)) return true
      sendError(response, new AppError('invalid-input', `${method} is not allowed on ${path}; use ${methods}`), { allow: methods })
      return false
    }
    if (path === '/healthz') {
      if (!allow('GET, HEAD')) return
      const health = service.health()
      send(response, health.isServing ? 200 : 503, {
        status: health.isServing ? 'ok' : 'no-model',
        deviceId: service.deviceId,
        installState: health.installState,
        isConnected: health.isConnected,
      })
      return
    }
    const match = /^\/v1\/models\/([^/]+)(\/infer)?$/.exec(path)
    if (match === null) throw new AppError('not-found', `No endpoint at ${path}; see /v1/models/{name}, /v1/models/{name}/infer, /healthz`)
    let name: string
    try {
      name = decodeURIComponent(match[1] ?? '')
    } catch {
      throw new AppError('invalid-input', 'The model name in the path is not valid percent-encoding')
    }
    const model = service.describeModel(name)
    if (model === null) throw new AppError('unavailable', 'No model is active on this device yet')
    if (match[2] === undefined) {
      if (!allow('GET, HEAD')) return
      send(response, 200, model)
      return
    }
    if (!allow('POST')) return
    const body = await readBody(request, maxBodyBytes)
    const feeds = await parseFeeds(request, body, model.inputs)
    const result = await service.infer(feeds, name)
    const resultHeaders = {
      'x-outpost-model-sha256': result.modelSha256,
      'x-outpost-execution-provider': result.executionProvider,
      'x-outpost-latency-ms': result.latencyMs.toFixed(3),
    }
    if ((header(request, 'accept') ?? '').includes('application/octet-stream')) {
      const outputName = header(request, 'x-outpost-output') ?? Object.keys(result.outputs)[0] ?? ''
      const output = result.outputs[outputName]
      if (output === undefined) throw new AppError('invalid-input', `The model has no output named ${outputName}`, { output: outputName })
      const bytes = tensorToBytes(output)
      response.writeHead(200, {
        ...resultHeaders,
        'content-type': 'application/octet-stream',
        'content-length': bytes.byteLength,
        'x-outpost-output': outputName,
        'x-outpost-type': output.elementType,
        'x-outpost-dims': output.dims.join(','),
      })
      response.end(bytes)
      return
    }
    const outputs: Record<string, ReturnType<typeof tensorToJson>> = {}
    for (const [outputName, value] of Object.entries(result.outputs)) outputs[outputName] = tensorToJson(value)
    send(
      response,
      200,
      { model: { name: result.modelName, version: result.modelVersion, sha256: result.modelSha256 }, executionProvider: result.executionProvider, latencyMs: result.latencyMs, outputs },
      resultHeaders,
    )
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy()
        return
      }
      if (error instanceof AppError) {
        // A refused body may still be arriving; closing the connection is cheaper than reading it.
        sendError(response, error, error.code === 'message-too-large' ? { connection: 'close' } : {})
        return
      }
      log.error('inference API request failed unexpectedly', error, { path: request.url?.slice(0, 200) })
      send(response, 500, { code: 'internal', message: 'The agent hit an unexpected error; see its log' })
    })
  })
  server.on('clientError', (_error, socket) => socket.destroy())
  await listen(server, options.listen)
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : null
  const socketPath = 'socketPath' in options.listen ? options.listen.socketPath : null
  let closing: Promise<void> | undefined
  return {
    url: socketPath === null ? `http://127.0.0.1:${port ?? 0}` : `unix:${socketPath}`,
    port,
    socketPath,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}
