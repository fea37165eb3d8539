// Holds the policy decisions are evaluated with. Loading builds a complete new
// DecisionPolicy first and only then swaps the reference, so a decision always
// runs against one whole policy, and a failed load keeps the last good one.
import { readFile } from 'node:fs/promises'
import { readBundle, type PolicyBundle } from './bundle.js'
import { compilePolicies } from './compiler.js'
import { loadDecisionPolicy, type DecisionPolicy } from './policy.js'

export interface PolicySource {
  /** A policy directory (Rego + data.yaml) compiled with the pinned OPA on load. */
  dir?: string
  /** A bundle built by `opa build -t wasm` (or `verdict build`). */
  bundleFile?: string
  entrypoint: string
}

export type PolicyState = 'starting' | 'ready' | 'degraded' | 'failed'

export interface PolicyStatus {
  state: PolicyState
  revision?: string
  digest?: string
  loadedAt?: string
  /** The last load's error, while no later load has succeeded. */
  error?: string
}

export interface PolicyStore {
  current (): DecisionPolicy | undefined
  status (): PolicyStatus
  load (): Promise<DecisionPolicy>
}

export function createPolicyStore (source: PolicySource): PolicyStore {
  let active: DecisionPolicy | undefined
  let loadedAt: string | undefined
  let lastError: string | undefined

  async function readSource (): Promise<PolicyBundle> {
    if (source.bundleFile) return await readBundle(await readFile(source.bundleFile))
    if (source.dir) return await compilePolicies({ dir: source.dir, entrypoint: source.entrypoint })
    throw new Error('no policy source configured (policy.dir or policy.bundleFile)')
  }

  return {
    current: () => active,
    status (): PolicyStatus {
      if (!active) return lastError ? { state: 'failed', error: lastError } : { state: 'starting' }
      const s: PolicyStatus = { state: lastError ? 'degraded' : 'ready', revision: active.revision, digest: active.digest }
      if (loadedAt) s.loadedAt = loadedAt
      if (lastError) s.error = lastError
      return s
    },
    async load (): Promise<DecisionPolicy> {
      try {
        const next = await loadDecisionPolicy(await readSource(), source.entrypoint)
        active = next
        loadedAt = new Date().toISOString()
        lastError = undefined
        return next
      } catch (err) {
        lastError = (err as Error).message
        throw err
      }
    }
  }
}
