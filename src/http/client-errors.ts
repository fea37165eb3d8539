// Errors Node's HTTP parser raises before there is a request to route: headers
// over `server.maxHeaderBytes` (431), a request not received within
// `server.requestTimeoutMs` (408: slow headers or a body that trickles in), and
// bytes that are not HTTP (400). They are answered in the same `{ code, message }`
// shape as every other error, with `Connection: close`, and the connection is
// then closed gracefully: the answer is sent before our FIN, and what the client
// still sends is read and dropped for a moment, so the client reads the answer
// instead of a reset. fastify's default writes another shape and destroys the
// socket at once, which can reset the connection under the answer.
//
// The server options that go with it (timeouts, header limit) are built here too,
// so the process (server.ts) and the tests use the same ones.
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { ServerOptions } from 'node:http'
import type { FastifyError, FastifyServerOptions } from 'fastify'
import type { Config } from '../config.js'
import { HeadersTooLargeError, HttpMalformedError, RequestTimeoutError } from '../errors.js'

/** How long a closing connection may still send before it is destroyed. */
const LINGER_MS = 2000

type ServerLimits = Pick<Config['server'], 'requestTimeoutMs' | 'maxHeaderBytes'>

/** The fastify options for the timeouts, the header limit and the answers above. */
export interface ServerLimitOptions extends Pick<FastifyServerOptions, 'requestTimeout' | 'clientErrorHandler'> {
  http: ServerOptions
}

export function serverLimitOptions (server: ServerLimits): ServerLimitOptions {
  const timeout = server.requestTimeoutMs
  return {
    // fastify sets requestTimeout on the server after creating it (its default, 0,
    // would switch Node's off); Node wants headersTimeout ≤ requestTimeout at creation.
    requestTimeout: timeout,
    http: {
      requestTimeout: timeout,
      headersTimeout: timeout,
      maxHeaderSize: server.maxHeaderBytes,
      // Node checks the timeouts on this interval (default 30 s): check often
      // enough that a slow request is closed close to its deadline.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeout / 4)))
    },
    clientErrorHandler: clientErrorHandler(server)
  }
}

interface ClientError extends Error { code?: string }

/** The answer for a parser-level error: status and `{ code, message }`. */
export function clientErrorAnswer (err: ClientError, server: ServerLimits): { status: number, body: { code: string, message: string } } {
  let error: FastifyError
  if (err.code === 'HPE_HEADER_OVERFLOW') error = new HeadersTooLargeError(server.maxHeaderBytes)
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') error = new RequestTimeoutError(server.requestTimeoutMs)
  else error = new HttpMalformedError()
  return { status: error.statusCode ?? 400, body: { code: error.code, message: error.message } }
}

// Node may report more than one parser error for one connection; it is answered once.
const answered = new WeakSet<Socket>()

function clientErrorHandler (server: ServerLimits): (err: ClientError, socket: Socket) => void {
  return function onClientError (err, socket) {
    if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return
    answered.add(socket)
    // A response already under way on this socket cannot be followed by another.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (!socket.writable || inFlight?.headersSent === true) {
      socket.destroy()
      return
    }
    const { status, body } = clientErrorAnswer(err, server)
    const text = JSON.stringify(body)
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
    )
    socket.resume()
    setTimeout(() => socket.destroy(), LINGER_MS).unref()
  }
}
