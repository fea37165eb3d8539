// Issue 9, item 5, over real sockets against the server as server.ts builds it:
// headers over the limit get 431 as { code, message } with Connection: close and
// the connection is closed without a reset under the answer; the next request
// (a keep-alive client's, or on a fresh connection) works; a request whose body
// trickles in is answered 408 and closed at the configured timeout.
import { request as httpRequest, Agent } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import verdictApp from '../../src/app.js'
import { parseConfig, SERVER_DEFAULTS } from '../../src/config.js'
import { clientErrorAnswer, serverLimitOptions } from '../../src/http/client-errors.js'
import { createServer } from '../../src/server.js'
import { POLICY_DIR } from '../helpers/app.js'

// Starts real callers or a real server and compiles the policy: slow on a busy machine.
t.setTimeout(120_000)

const DECIDE_BODY = JSON.stringify({ request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } })
const REQUEST_TIMEOUT_MS = 600

interface RawAnswer { text: string, error?: Error, closedAfterMs: number }

/** Writes `chunks` (strings, or pauses in ms) on a fresh connection and reads until the server closes it. */
async function raw (port: number, chunks: Array<string | number>, giveUpMs = 10_000): Promise<RawAnswer> {
  const started = Date.now()
  const socket: Socket = connect(port, '127.0.0.1')
  const received: Buffer[] = []
  let error: Error | undefined
  socket.on('data', (d) => received.push(d))
  socket.on('error', (e) => { error = e })
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  const writing = (async () => {
    for (const chunk of chunks) {
      if (socket.destroyed || socket.writableEnded) return
      if (typeof chunk === 'number') await new Promise((resolve) => setTimeout(resolve, chunk))
      else socket.write(chunk)
    }
  })()
  const timer = setTimeout(() => socket.destroy(new Error('the server never closed the connection')), giveUpMs)
  await closed
  clearTimeout(timer)
  await writing
  const answer: RawAnswer = { text: Buffer.concat(received).toString('utf8'), closedAfterMs: Date.now() - started }
  if (error) answer.error = error
  return answer
}

function parseAnswer (text: string): { status: number, headers: Record<string, string>, body: unknown } {
  const [head = '', body = ''] = text.split('\r\n\r\n')
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const i = line.indexOf(':')
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: body === '' ? undefined : JSON.parse(body) }
}

async function post (port: number, agent: Agent | false, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, unknown>, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/decide', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }))
    })
    req.on('error', reject)
    req.end(DECIDE_BODY)
  })
}

t.test('the defaults: a request timeout of at most 30 s, Node\'s header limit', async (t) => {
  const config = parseConfig({ policy: { dir: POLICY_DIR } })
  t.ok(config.server.requestTimeoutMs <= 30_000, `requestTimeoutMs ${config.server.requestTimeoutMs}`)
  t.equal(config.server.requestTimeoutMs, SERVER_DEFAULTS.requestTimeoutMs)
  t.equal(config.server.maxHeaderBytes, 16 * 1024)
  const options = serverLimitOptions(config.server)
  t.match(options, { requestTimeout: config.server.requestTimeoutMs, http: { requestTimeout: config.server.requestTimeoutMs, headersTimeout: config.server.requestTimeoutMs, maxHeaderSize: 16 * 1024 } })
  t.ok((options.http.connectionsCheckingInterval ?? 30_000) <= 1000, 'timeouts are checked at least every second')
  t.same(clientErrorAnswer(Object.assign(new Error('x'), { code: 'HPE_INVALID_METHOD' }), config.server), { status: 400, body: { code: 'HTTP_MALFORMED', message: 'the request is not well-formed HTTP/1.1' } })
})

t.test('over a real socket', async (t) => {
  const config = parseConfig({ server: { logLevel: 'silent', requestTimeoutMs: REQUEST_TIMEOUT_MS }, policy: { dir: POLICY_DIR, watch: false } })
  const fastify = createServer(config)
  await fastify.register(verdictApp, { config })
  await fastify.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => fastify.close())
  const port = (fastify.server.address() as AddressInfo).port

  t.test('a 64 KiB header: 431 { code, message }, Connection: close, no reset', async (t) => {
    const answer = await raw(port, [
      `POST /v1/decide HTTP/1.1\r\nHost: verdict\r\nX-Padding: ${'a'.repeat(64 * 1024)}\r\n`,
      `Content-Type: application/json\r\nContent-Length: ${DECIDE_BODY.length}\r\n\r\n${DECIDE_BODY}`
    ])
    t.notOk(answer.error, `the connection closes without an error (${answer.error?.message ?? 'none'})`)
    const { status, headers, body } = parseAnswer(answer.text)
    t.equal(status, 431)
    t.equal(headers.connection, 'close')
    t.match(headers['content-type'], /^application\/json/)
    t.same(body, { code: 'HEADERS_TOO_LARGE', message: 'the request headers are larger than 16384 bytes' })
  })

  t.test('a keep-alive client: the request after a 431 works', async (t) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    t.teardown(() => agent.destroy())
    const first = await post(port, agent)
    t.equal(first.status, 200, 'a decision on a kept-alive connection')
    const big = await post(port, agent, { 'x-padding': 'b'.repeat(64 * 1024) })
    t.equal(big.status, 431)
    t.equal(big.headers.connection, 'close')
    t.same(JSON.parse(big.body).code, 'HEADERS_TOO_LARGE')
    const next = await post(port, agent)
    t.equal(next.status, 200, 'the next request is answered')
    t.match(JSON.parse(next.body), { allow: false, status: 401 }, 'a decision (no credential was sent)')
    const fresh = await post(port, false)
    t.equal(fresh.status, 200, 'and so is one on a fresh connection')
  })

  t.test('a body sent one byte at a time is cut off at the request timeout', async (t) => {
    const drip: Array<string | number> = [`POST /v1/decide HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\nContent-Length: ${DECIDE_BODY.length}\r\n\r\n`]
    for (const ch of DECIDE_BODY) drip.push(150, ch) // the whole body would take ~9 s
    const answer = await raw(port, drip)
    const { status, headers, body } = parseAnswer(answer.text)
    t.equal(status, 408)
    t.equal(headers.connection, 'close')
    t.same(body, { code: 'REQUEST_TIMEOUT', message: `the request was not received completely within ${REQUEST_TIMEOUT_MS} ms` })
    t.ok(answer.closedAfterMs >= REQUEST_TIMEOUT_MS, `not before the timeout (${answer.closedAfterMs} ms)`)
    t.ok(answer.closedAfterMs < REQUEST_TIMEOUT_MS + 2500, `closed soon after it (${answer.closedAfterMs} ms)`)
  })

  t.test('headers sent slowly are cut off too', async (t) => {
    const drip: Array<string | number> = ['POST /v1/decide HTTP/1.1\r\n']
    for (let i = 0; i < 40; i++) drip.push(150, `X-Slow-${i}: x\r\n`)
    const answer = await raw(port, drip)
    t.equal(parseAnswer(answer.text).status, 408)
    t.ok(answer.closedAfterMs < REQUEST_TIMEOUT_MS + 2500, `closed after ${answer.closedAfterMs} ms`)
  })

  t.test('bytes that are not HTTP: 400 { code, message }', async (t) => {
    const answer = await raw(port, ['NOT HTTP AT ALL\r\n\r\n'])
    const { status, headers, body } = parseAnswer(answer.text)
    t.equal(status, 400)
    t.equal(headers.connection, 'close')
    t.match(body, { code: 'HTTP_MALFORMED' })
  })

  t.test('a request that arrives in time is answered', async (t) => {
    const res = await post(port, false)
    t.equal(res.status, 200)
  })
})
