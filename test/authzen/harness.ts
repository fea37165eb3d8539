// The AuthZEN test harness: Verdict with the AuthZEN doors open, on a free
// loopback port (real HTTP, as a PEP calls it), a policy directory of choice, and
// a PEP API key made at test time (hashed into a temporary key file with a
// random pepper). `post` sends JSON with the key, the way the interop PEPs do
// (the raw key as the Authorization value).
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import verdictApp from '../../src/app.js'
import { hashApiKey } from '../../src/authzen/index.js'
import { parseConfig } from '../../src/config.js'

export const REPO = new URL('../..', import.meta.url).pathname
export const fixture = (name: string): string => join(REPO, 'test/fixtures/authzen', name)
export const scenarioDir = (name: 'todo' | 'gateway' | 'search'): string => join(REPO, 'examples/authzen', name)

export interface Harness {
  url: string
  app: FastifyInstance
  apiKey: string
  /** POST JSON (or raw text) with the PEP key; returns status, headers and parsed body */
  post: (path: string, body: unknown, headers?: Record<string, string>) => Promise<HttpAnswer>
  get: (path: string, headers?: Record<string, string>) => Promise<HttpAnswer>
  close: () => Promise<void>
}

export interface HttpAnswer {
  status: number
  headers: Headers
  text: string
  json: any
}

export interface HarnessOptions {
  policyDir: string
  entrypoint?: string
  model: 'cmic' | 'entities'
  authzen?: Record<string, unknown>
  authn?: Record<string, unknown>
  decisionLogs?: Record<string, unknown>
}

export async function startAuthzen (opts: HarnessOptions): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-authzen-'))
  const pepper = randomBytes(24).toString('base64url')
  const apiKey = `vk_${randomBytes(24).toString('base64url')}`
  await writeFile(join(dir, 'pepper'), pepper + '\n', { mode: 0o600 })
  await writeFile(join(dir, 'keys.yaml'), `interop-pep: { scheme: hmac-sha256, hash: "${hashApiKey(apiKey, Buffer.from(pepper))}" }\n`, { mode: 0o600 })
  const config = parseConfig({
    server: { logLevel: 'silent' },
    policy: { dir: opts.policyDir, watch: false, ...(opts.entrypoint !== undefined ? { entrypoint: opts.entrypoint } : {}) },
    authn: { ...opts.authn, basic: { pepperFile: join(dir, 'pepper') } },
    authzen: { enabled: true, model: opts.model, apiKeysFile: join(dir, 'keys.yaml'), ...opts.authzen },
    ...(opts.decisionLogs !== undefined ? { decisionLogs: opts.decisionLogs } : {})
  })
  const app = Fastify({ logger: false, bodyLimit: config.server.bodyLimitBytes })
  await app.register(verdictApp, { config })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })

  async function send (method: string, path: string, body: unknown, headers: Record<string, string>): Promise<HttpAnswer> {
    const init: RequestInit = { method, headers: { authorization: apiKey, ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        (init.headers as Record<string, string>)['content-type'] = 'application/json'
      }
    }
    const res = await fetch(url + path, init)
    const text = await res.text()
    let json: unknown
    try { json = JSON.parse(text) } catch { json = undefined }
    return { status: res.status, headers: res.headers, text, json }
  }

  return {
    url,
    app,
    apiKey,
    post: (path, body, headers = {}) => send('POST', path, body, headers),
    get: (path, headers = {}) => send('GET', path, undefined, headers),
    close: async () => {
      await app.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** The AuthZEN JSON Schemas of the 1.0 text (evaluation request and response), compiled. */
export async function authzenSchemas (): Promise<{ request: (v: unknown) => boolean, response: (v: unknown) => boolean, errors: () => string }> {
  const { readFile } = await import('node:fs/promises')
  const Ajv2020 = (await import('ajv/dist/2020.js')).default as unknown as new (o: object) => {
    compile: (s: unknown) => ((v: unknown) => boolean) & { errors?: unknown }
  }
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  const request = ajv.compile(JSON.parse(await readFile(fixture('schemas/evaluation-request.schema.json'), 'utf8')))
  const response = ajv.compile(JSON.parse(await readFile(fixture('schemas/evaluation-response.schema.json'), 'utf8')))
  return {
    request: (v) => request(v),
    response: (v) => response(v),
    errors: () => JSON.stringify(request.errors ?? response.errors ?? null)
  }
}
