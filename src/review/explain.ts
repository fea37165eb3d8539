// `verdict explain`: a decision with the evidence each layer used. The policy
// returns both (policies/verdict/explain/explain.rego, entrypoint
// verdict/explain/explanation): its `decision` is data.verdict.decision itself and
// its evidence is what the identity, API and application rules computed, so the
// trace comes from the policy, never from a second implementation here. This
// module compiles and loads that entrypoint, builds the input (from a policy
// input, a decision-log event, or flags) and checks the result's shape.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm'
import { describe } from '../engine/policy.js'
import { actionOf, endpointOf } from '../engine/input.js'
import { toPolicyResult, type PolicyInput, type PolicyResult } from '../engine/result.js'
import { compilePolicies } from '../toolchain/compiler.js'
import { extractCommit, repoRoot, resolveRef } from './git.js'
import { ReviewError } from './review-error.js'
import { basicPrincipal, claimPrincipal, clientPrincipal } from './space.js'
import { applyData } from './what-if.js'

export const EXPLAIN_ENTRYPOINT = 'verdict/explain/explanation'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

export interface Explanation {
  /** the decision, exactly as data.verdict.decision answers it */
  decision: PolicyResult
  /** the evidence per layer, as the policy returns it (null: does not apply) */
  identity: Obj | null
  api: Obj | null
  application: Obj | null
}

export interface Explainer {
  label: string
  digest: string
  explain: (input: PolicyInput) => Explanation
}

export interface ExplainSource {
  /** the policies directory (with `ref`: its path in the repository) */
  policies: string
  ref?: string
  repo?: string
  /** what-if data laid over the policies (src/review/what-if.ts) */
  data?: string
}

/** Compiles the policies with the explain entrypoint and loads them. */
export async function loadExplainer (source: ExplainSource): Promise<Explainer> {
  const scratch = await mkdtemp(join(tmpdir(), 'verdict-explain-'))
  try {
    let dir = source.policies
    let label = source.policies
    if (source.ref !== undefined) {
      const repo = await repoRoot(source.repo ?? process.cwd())
      const resolved = await resolveRef(repo, source.ref, source.policies)
      dir = await extractCommit(repo, resolved.commit, source.policies, join(scratch, 'rev'))
      label = `${source.ref} (${resolved.commit.slice(0, 12)})`
    } else if (source.data !== undefined) {
      dir = join(scratch, 'policies')
      await cp(source.policies, dir, { recursive: true }).catch((err: Error) => { throw new ReviewError(`cannot read ${source.policies}: ${err.message}`) })
    }
    if (source.data !== undefined) {
      await applyData(dir, source.data)
      label += ` with --data ${source.data}`
    }
    let bundle
    try {
      bundle = await compilePolicies({ dir, entrypoint: EXPLAIN_ENTRYPOINT, revision: 'explain' })
    } catch (err) {
      throw new ReviewError(`the policies of ${label} do not compile with ${EXPLAIN_ENTRYPOINT}: ${(err as Error).message}`)
    }
    let wasm: LoadedPolicy
    try {
      wasm = await loadPolicy(bundle.wasm)
      wasm.setData(JSON.parse(bundle.dataJson.toString('utf8')) as object)
    } catch (err) {
      throw new ReviewError(`the explain policy does not load: ${describe(err)}`)
    }
    return { label, digest: bundle.digest, explain: (input) => explainWith(wasm, input) }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

function explainWith (wasm: LoadedPolicy, input: PolicyInput): Explanation {
  let resultSet: unknown
  try {
    resultSet = wasm.evaluate(input, EXPLAIN_ENTRYPOINT)
  } catch (err) {
    throw new ReviewError(`explain failed: ${describe(err)}`)
  }
  const result = Array.isArray(resultSet) && resultSet.length > 0 ? (resultSet[0] as { result?: unknown }).result : undefined
  if (!isObj(result) || !isObj(result.decision)) throw new ReviewError('the explain policy returned no explanation (is policies/verdict/explain/explain.rego there?)')
  const part = (v: unknown): Obj | null => isObj(v) ? v : null
  // The decision is checked as the service checks it: a malformed one is an error, never shown as an allow.
  return { decision: toPolicyResult(result.decision), identity: part(result.identity), api: part(result.api), application: part(result.application) }
}

/** A policy input from a JSON document: the input itself, or a decision-log event carrying it. */
export function inputFromDocument (doc: unknown, where: string): PolicyInput {
  const input = isObj(doc) && isObj(doc.input) && ('decision_id' in doc || 'result' in doc) ? doc.input : doc
  if (!isObj(input) || !isObj(input.principal) || typeof input.action !== 'string' || !isObj(input.endpoint)) {
    const event = isObj(doc) && ('decision_id' in doc || 'result' in doc)
    throw new ReviewError(event
      ? `${where} is a decision-log event without a replayable input (an authentication failure, or masked/erased input)`
      : `${where} is not a policy input ({principal, action, request, endpoint, resource?}) or a decision-log event`)
  }
  return input as unknown as PolicyInput
}

/** The input of one event of a decision log: by line number, by decision id, or the only event. */
export async function inputFromLog (file: string, pick: { line?: number, decisionId?: string }): Promise<PolicyInput> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ReviewError(`cannot read decision log ${file}: ${(err as Error).message}`)
  }
  const lines = text.split('\n').map((t, i) => ({ t, n: i + 1 })).filter((l) => l.t.trim() !== '')
  let chosen: { t: string, n: number } | undefined
  if (pick.line !== undefined) chosen = lines.find((l) => l.n === pick.line)
  else if (pick.decisionId !== undefined) chosen = lines.find((l) => l.t.includes(JSON.stringify(pick.decisionId)) && parseLine(l.t, file, l.n).decision_id === pick.decisionId)
  else if (lines.length === 1) chosen = lines[0]
  else throw new ReviewError(`${file} holds ${lines.length} events: pick one with --line or --decision-id`)
  if (!chosen) throw new ReviewError(`${file} has no event ${pick.line !== undefined ? `on line ${pick.line}` : `with decision id ${pick.decisionId ?? ''}`}`)
  return inputFromDocument(parseLine(chosen.t, file, chosen.n), `${file}:${chosen.n}`)
}

function parseLine (text: string, file: string, n: number): Obj {
  try {
    const v = JSON.parse(text) as unknown
    if (isObj(v)) return v
  } catch {}
  throw new ReviewError(`${file}:${n} is not a decision-log event (JSON object)`)
}

export interface FlagInput {
  account?: string
  /** "basic" (default) or an identity provider name */
  idp?: string
  client?: string
  method: string
  path: string
  company?: string
  job?: string
}

/** The input authentication and request parsing would build for these flags (the same principals as verdict diff's routes). */
export function inputFromFlags (f: FlagInput): PolicyInput {
  const idp = f.idp ?? 'basic'
  let principal
  if (f.client !== undefined) {
    if (idp === 'basic') throw new ReviewError('--client needs --idp <identity provider>')
    principal = clientPrincipal(idp, f.client)
  } else if (f.account !== undefined) {
    principal = idp === 'basic' ? basicPrincipal(f.account) : claimPrincipal(idp, f.account)
  } else {
    throw new ReviewError('give --account (and --idp) or --idp and --client')
  }
  let input: PolicyInput
  try {
    input = { principal, action: actionOf(f.method.toUpperCase()), request: { method: f.method.toUpperCase(), path: f.path }, endpoint: endpointOf(f.path) }
  } catch (err) {
    throw new ReviewError(`--method ${f.method} --path ${f.path}: ${(err as Error).message}`)
  }
  if (f.company !== undefined) input.resource = { company: f.company, ...(f.job !== undefined ? { job: f.job } : {}) }
  else if (f.job !== undefined) throw new ReviewError('--job needs --company')
  return input
}
