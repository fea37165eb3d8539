// Configuration: one YAML file (VERDICT_CONFIG, default config/verdict.yaml), a few
// environment overrides for what differs between deployments, defaults for the
// rest, and a schema check so a typo stops the start instead of weakening security.
import { readFileSync } from 'node:fs'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parse as parseYaml } from 'yaml'
import { DecisionLogsConfigSchema } from './decision-log/config.js'
import { AuthnConfigError, AuthnConfigSchema, resolveAuthnConfig } from './authn/config.js'
import { PolicyConfigSchema, policyConfigProblems } from './lifecycle/config.js'
import { DEFAULT_PATH_VOCABULARY } from './engine/input.js'
import { ConfigInvalidError } from './errors.js'
import { TlsConfigSchema, tlsConfigProblems } from './tls/index.js'
import { StatusConfigSchema } from './status/config.js'
import { AuthzenConfigSchema, authzenConfigProblems } from './authzen/config.js'
import { ExplainConfigSchema, explainConfigProblems } from './routes/explain-config.js'

export const SERVER_DEFAULTS = {
  requestTimeoutMs: 20_000,
  maxHeaderBytes: 16 * 1024
} as const

const PathSegment = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })

export const ConfigSchema = Type.Object({
  server: Type.Object({
    host: Type.String({ default: '127.0.0.1', description: 'address to listen on (env `VERDICT_HOST`)' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8181, description: 'port to listen on (env `VERDICT_PORT`)' }),
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024, default: 64 * 1024, description: 'largest request body' }),
    batchBodyLimitBytes: Type.Optional(Type.Integer({
      minimum: 1024,
      maximum: 4 * 1024 * 1024,
      description: 'largest `POST /v1/decide/batch` body (up to 100 requests); when unset 16 × `bodyLimitBytes`, at most 1 MiB'
    })),
    workers: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 64 })], {
      default: 'auto',
      description: 'worker processes (node:cluster), each with its own policy instance; `auto` is one per core (env `VERDICT_WORKERS`). WASM evaluation is synchronous, so one process uses one core'
    }),
    logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'),
      Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], {
      default: 'info',
      description: 'log level (env `VERDICT_LOG_LEVEL`); tokens and secrets are never logged'
    }),
    shutdownTimeoutMs: Type.Integer({
      minimum: 0,
      maximum: 600_000,
      default: 10_000,
      description: 'on SIGTERM, requests still running after this have their connections cut (decision logs are flushed after)'
    }),
    requestTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 120_000,
      default: SERVER_DEFAULTS.requestTimeoutMs,
      description: 'a request (headers and body) not received completely within this is answered 408 `REQUEST_TIMEOUT` and its connection closed'
    }),
    maxHeaderBytes: Type.Integer({
      minimum: 1024,
      maximum: 1024 * 1024,
      default: SERVER_DEFAULTS.maxHeaderBytes,
      description: 'larger request headers are answered 431 `HEADERS_TOO_LARGE` and the connection closed'
    }),
    paths: Type.Object({
      envs: Type.Array(PathSegment, { minItems: 1, maxItems: 64, uniqueItems: true, default: [...DEFAULT_PATH_VOCABULARY.envs], description: 'the `{env}` segments decided on' }),
      versions: Type.Array(PathSegment, { minItems: 1, maxItems: 64, uniqueItems: true, default: [...DEFAULT_PATH_VOCABULARY.versions], description: 'the `{version}` segments decided on' })
    }, { additionalProperties: false, default: {}, description: 'the ERP REST paths this deployment decides on; any other `env` or `version` is a 400 `PATH_UNKNOWN`' }),
    tls: Type.Optional(TlsConfigSchema)
  }, { additionalProperties: false, default: {}, description: 'the HTTP server and its processes' }),
  policy: Type.Object(PolicyConfigSchema.properties, { additionalProperties: false, default: {}, description: PolicyConfigSchema.description }),
  authn: Type.Object(AuthnConfigSchema.properties, { additionalProperties: false, default: {}, description: AuthnConfigSchema.description }),
  decisionLogs: DecisionLogsConfigSchema,
  status: Type.Optional(StatusConfigSchema),
  authzen: AuthzenConfigSchema,
  explain: ExplainConfigSchema,
  forwardAuth: Type.Object({
    path: Type.String({ pattern: '^(/[A-Za-z0-9_.-]+)+$', maxLength: 128, default: '/v1/forward-auth', description: 'where gateways ask (nginx auth_request, Traefik ForwardAuth); Envoy ext_authz appends the original path to it' }),
    maxFilterBytes: Type.Integer({ minimum: 256, maximum: 32 * 1024, default: 2048, description: 'bound of the X-Verdict-Filter header (base64url characters); an allowed request whose filter is larger is refused with 500 `ROW_FILTER_TOO_LARGE`' })
  }, { additionalProperties: false, default: {}, description: 'the forward-auth door for gateways (docs/API.md, "Gateways")' })
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>

export const DEFAULT_CONFIG_FILE = 'config/verdict.yaml'

type Env = Record<string, string | undefined>

/** Applies the environment overrides that exist (documented in docs/CONFIGURATION.md). */
function applyEnv (raw: Record<string, unknown>, env: Env): void {
  const section = (name: string): Record<string, unknown> => {
    const s = raw[name]
    if (s !== null && typeof s === 'object') return s as Record<string, unknown>
    const created: Record<string, unknown> = {}
    raw[name] = created
    return created
  }
  if (env.VERDICT_HOST) section('server').host = env.VERDICT_HOST
  if (env.VERDICT_PORT) section('server').port = Number(env.VERDICT_PORT)
  if (env.VERDICT_LOG_LEVEL) section('server').logLevel = env.VERDICT_LOG_LEVEL
  if (env.VERDICT_WORKERS) section('server').workers = env.VERDICT_WORKERS === 'auto' ? 'auto' : Number(env.VERDICT_WORKERS)
  // Each policy source replaces the others (and a watch flag that only a dir has).
  const policySource = (key: 'dir' | 'bundleFile' | 'bundleUrl', value: string): void => {
    const policy = section('policy')
    for (const other of ['dir', 'bundleFile', 'bundleUrl', 'watch', 'reconcileIntervalMs']) delete policy[other]
    policy[key] = value
  }
  if (env.VERDICT_POLICY_DIR) policySource('dir', env.VERDICT_POLICY_DIR)
  if (env.VERDICT_POLICY_BUNDLE) policySource('bundleFile', env.VERDICT_POLICY_BUNDLE)
  if (env.VERDICT_POLICY_BUNDLE_URL) policySource('bundleUrl', env.VERDICT_POLICY_BUNDLE_URL)
  if (env.VERDICT_POLICY_VERIFICATION_KEY) section('policy').verificationKey = env.VERDICT_POLICY_VERIFICATION_KEY
}

/** Validates a configuration object (already parsed), filling in defaults. */
export function parseConfig (raw: unknown, env: Env = {}): Config {
  const copy = structuredClone(raw ?? {}) as Record<string, unknown>
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) throw new ConfigInvalidError('the top level must be a mapping')
  applyEnv(copy, env)
  const withDefaults = Value.Default(ConfigSchema, copy)
  if (!Value.Check(ConfigSchema, withDefaults)) {
    const first = Value.Errors(ConfigSchema, withDefaults).First()
    throw new ConfigInvalidError(`${first?.path || '/'}: ${first?.message ?? 'invalid'}`)
  }
  const config = withDefaults as Config
  const policyProblems = [...policyConfigProblems(config.policy), ...tlsConfigProblems(config.server.tls)]
  if (policyProblems.length > 0) throw new ConfigInvalidError(policyProblems.join('; '))
  const authzenProblems = authzenConfigProblems(config.authzen)
  if (authzenProblems.length > 0) throw new ConfigInvalidError(authzenProblems.join('; '))
  const explainProblems = explainConfigProblems(config.explain, config.policy.dir)
  if (explainProblems.length > 0) throw new ConfigInvalidError(explainProblems.join('; '))
  try {
    // The rules a schema cannot say (one key source per issuer, per-profile
    // requirements) are checked now, so a bad issuer stops the start.
    resolveAuthnConfig(config.authn)
  } catch (err) {
    if (err instanceof AuthnConfigError) throw new ConfigInvalidError(`/authn: ${err.problems.join('; ')}`)
    throw err
  }
  return config
}

export function loadConfig (env: Env = process.env): Config {
  const file = env.VERDICT_CONFIG ?? DEFAULT_CONFIG_FILE
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigInvalidError(`cannot read ${file} (${(err as Error).message})`)
  }
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (err) {
    throw new ConfigInvalidError(`${file} is not valid YAML (${(err as Error).message})`)
  }
  return parseConfig(raw, env)
}
