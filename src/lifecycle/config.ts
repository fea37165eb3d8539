// The `policy` section of the service config: where the policy comes from (a
// directory compiled on start and watched, a bundle file, or a bundle URL that is
// polled), and the public key bundles must be signed with. The schema has no
// defaults of its own, so a parsed config shows what the operator wrote;
// POLICY_DEFAULTS are applied where the values are used.
import { Type, type Static } from '@sinclair/typebox'
import { DEFAULT_EVALUATION_DEADLINE_MS } from '../engine/isolate.js'

/** JWS algorithms a bundle signature may use: asymmetric only, so a public key can never act as an HMAC secret. */
export const SIGNATURE_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const
export type SignatureAlgorithm = typeof SIGNATURE_ALGORITHMS[number]

export const POLICY_DEFAULTS = {
  entrypoint: 'verdict/decision',
  // OPA's own defaults for bundle polling.
  minDelaySeconds: 60,
  maxDelaySeconds: 120,
  fetchTimeoutSeconds: 30,
  maxBundleBytes: 64 * 1024 * 1024,
  reconcileIntervalMs: 3000,
  switchTimeoutMs: 30_000,
  evaluationDeadlineMs: DEFAULT_EVALUATION_DEADLINE_MS
} as const

const Seconds = { minimum: 0.01, maximum: 86400 }

// Header names a configured header may not replace: the request's own framing,
// its conditional GET and (with a token file) its credential.
const RESERVED_HEADERS = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'if-none-match'])

export const BundleServiceConfigSchema = Type.Object({
  bearerTokenFile: Type.Optional(Type.String({
    minLength: 1,
    description: 'a file holding the bearer token sent to the bundle service (`Authorization: Bearer …`); read at every download, so a rotated token is used without a restart'
  })),
  headers: Type.Optional(Type.Record(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }), Type.String({ maxLength: 8192, pattern: '^[^\\r\\n]*$' }), {
    description: 'extra request headers for the bundle service (e.g. an API key header)'
  })),
  clientCertFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate for mutual TLS with the bundle service (with clientKeyFile; read at start)' })),
  clientKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of clientCertFile' })),
  caFile: Type.Optional(Type.String({ minLength: 1, description: "PEM CA bundle that verifies the bundle service's certificate (instead of the system's CAs)" }))
}, { additionalProperties: false, description: 'how Verdict authenticates to the bundle service of `bundleUrl`' })

export type BundleServiceConfig = Static<typeof BundleServiceConfigSchema>

export const PolicyConfigSchema = Type.Object({
  dir: Type.Optional(Type.String({
    minLength: 1,
    description: 'a policy directory (Rego + data.yaml) compiled with the pinned OPA on start (env `VERDICT_POLICY_DIR`); set exactly one of `dir`, `bundleFile`, `bundleUrl`'
  })),
  bundleFile: Type.Optional(Type.String({
    minLength: 1,
    description: 'an OPA bundle file, from `verdict build` or `opa build -t wasm` (env `VERDICT_POLICY_BUNDLE`)'
  })),
  bundleUrl: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 2048,
    description: 'an OPA bundle served over http(s), polled with `If-None-Match` (env `VERDICT_POLICY_BUNDLE_URL`)'
  })),
  entrypoint: Type.String({ minLength: 1, default: POLICY_DEFAULTS.entrypoint, description: 'the WASM entrypoint the decision is read from' }),
  watch: Type.Optional(Type.Boolean({
    description: 'follow the directory: file-system events and the reconciler reload what changes; default `true` for `dir` (a dir only); `false` serves what was compiled at start'
  })),
  reconcileIntervalMs: Type.Optional(Type.Integer({
    minimum: 100,
    maximum: 3_600_000,
    description: `how often (ms) the files of a followed \`dir\` are digested and compared with the ones the active policy was compiled from, whatever the file-system events said: a difference reloads, and \`/health\` is \`degraded\` until the files on disk are active; default ${POLICY_DEFAULTS.reconcileIntervalMs} (a dir only)`
  })),
  verificationKey: Type.Optional(Type.String({
    minLength: 1,
    description: 'PEM file of the public key (SPKI, PKCS#1 or a certificate) bundles must be signed with; unsigned bundles are then refused (env `VERDICT_POLICY_VERIFICATION_KEY`)'
  })),
  verificationKeyId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'the key id the signature must name (JWT `kid`); any id when unset' })),
  verificationAlg: Type.Optional(Type.Union(SIGNATURE_ALGORITHMS.map((a) => Type.Literal(a)), {
    description: 'the signature algorithm; by default RS256 for an RSA key, ES256/384/512 by the curve of an EC key'
  })),
  verificationScope: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "the `scope` claim the signature must carry (OPA's verification scope); none when unset" })),
  polling: Type.Optional(Type.Object({
    minDelaySeconds: Type.Optional(Type.Number({ ...Seconds, description: `each poll of \`bundleUrl\` waits a random time between min and max; default ${POLICY_DEFAULTS.minDelaySeconds}` })),
    maxDelaySeconds: Type.Optional(Type.Number({ ...Seconds, description: `default ${POLICY_DEFAULTS.maxDelaySeconds}; a failed poll is retried with exponential backoff up to this` }))
  }, { additionalProperties: false, description: 'polling of `bundleUrl`' })),
  fetchTimeoutSeconds: Type.Optional(Type.Number({
    ...Seconds,
    description: `one bundle download (connect, headers and body together) may take this long; default ${POLICY_DEFAULTS.fetchTimeoutSeconds}`
  })),
  maxBundleBytes: Type.Optional(Type.Integer({
    minimum: 1024,
    maximum: 1024 * 1024 * 1024,
    description: `largest bundle read from a file or a URL (compressed size); default ${POLICY_DEFAULTS.maxBundleBytes / 1024 / 1024} MiB`
  })),
  bundleService: Type.Optional(BundleServiceConfigSchema),
  persistDir: Type.Optional(Type.String({
    minLength: 1,
    description: "a directory where the last activated bundle of `bundleUrl` is kept (OPA's `persist`): at start, while the bundle service is unreachable, that bundle is verified and served, and /health says so"
  })),
  evaluationDeadlineMs: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 60_000,
    description: `how long (ms) one decision may evaluate before it is answered 503 \`EVALUATION_TIMEOUT\` (never an allow) and the evaluation thread is replaced, so one costly decision cannot stall the others; the clock is the decision's own wall time in the thread, so on a machine starved of CPU ordinary decisions can reach it too; default ${POLICY_DEFAULTS.evaluationDeadlineMs}`
  })),
  switchTimeoutMs: Type.Optional(Type.Integer({
    minimum: 100,
    maximum: 600_000,
    description: `with \`server.workers\` above 1: how long (ms) every worker gets to load a new policy before the switch is called off (nobody switches; \`/health\` is \`degraded\`); default ${POLICY_DEFAULTS.switchTimeoutMs}`
  }))
}, { additionalProperties: false, description: 'where the policy comes from (a directory, a bundle file or a bundle URL) and the key bundles must be signed with' })

export type PolicyConfig = Static<typeof PolicyConfigSchema>

/**
 * The rules of the policy section a schema cannot say. Returns the problems, each
 * starting with its config path; the caller turns them into a config error.
 */
export function policyConfigProblems (policy: PolicyConfig): string[] {
  const problems: string[] = []
  const sources = [policy.dir, policy.bundleFile, policy.bundleUrl].filter((s) => s !== undefined)
  if (sources.length !== 1) problems.push('/policy: set exactly one of dir and bundleFile (or bundleUrl)')
  if (policy.bundleUrl !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(policy.bundleUrl)
    } catch {
      problems.push('/policy/bundleUrl: not a URL')
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('/policy/bundleUrl: must be http or https')
    if (url && (url.username || url.password)) problems.push('/policy/bundleUrl: credentials do not belong in the URL')
  }
  if (policy.watch !== undefined && policy.dir === undefined) problems.push('/policy/watch: applies to a policy dir only')
  if (policy.reconcileIntervalMs !== undefined && policy.dir === undefined) problems.push('/policy/reconcileIntervalMs: applies to a policy dir only')
  if (policy.polling !== undefined && policy.bundleUrl === undefined) problems.push('/policy/polling: applies to bundleUrl only')
  const { minMs, maxMs } = pollingDelays(policy)
  if (minMs > maxMs) problems.push('/policy/polling: minDelaySeconds is larger than maxDelaySeconds')
  if (policy.verificationKey !== undefined && policy.dir !== undefined) {
    problems.push('/policy/verificationKey: a policy dir is not a bundle and carries no signature; use bundleFile or bundleUrl')
  }
  for (const key of ['bundleService', 'persistDir'] as const) {
    if (policy[key] !== undefined && policy.bundleUrl === undefined) problems.push(`/policy/${key}: applies to bundleUrl only`)
  }
  problems.push(...bundleServiceProblems(policy.bundleService))
  for (const key of ['verificationKeyId', 'verificationAlg', 'verificationScope'] as const) {
    if (policy[key] !== undefined && policy.verificationKey === undefined) problems.push(`/policy/${key}: needs verificationKey`)
  }
  return problems
}

/** Polling delays with defaults: an unset min follows a smaller max, an unset max a larger min. */
export function pollingDelays (policy: PolicyConfig): { minMs: number, maxMs: number } {
  const setMax = policy.polling?.maxDelaySeconds
  const min = policy.polling?.minDelaySeconds ?? Math.min(POLICY_DEFAULTS.minDelaySeconds, setMax ?? Infinity)
  const max = policy.polling?.maxDelaySeconds ?? Math.max(min, POLICY_DEFAULTS.maxDelaySeconds)
  return { minMs: min * 1000, maxMs: max * 1000 }
}

function bundleServiceProblems (service: BundleServiceConfig | undefined): string[] {
  if (service === undefined) return []
  const problems: string[] = []
  if ((service.clientCertFile === undefined) !== (service.clientKeyFile === undefined)) {
    problems.push('/policy/bundleService: clientCertFile and clientKeyFile go together')
  }
  for (const name of Object.keys(service.headers ?? {})) {
    const lower = name.toLowerCase()
    if (RESERVED_HEADERS.has(lower)) problems.push(`/policy/bundleService/headers: ${name} is set by Verdict`)
    if (lower === 'authorization' && service.bearerTokenFile !== undefined) {
      problems.push('/policy/bundleService/headers: authorization conflicts with bearerTokenFile')
    }
  }
  return problems
}
