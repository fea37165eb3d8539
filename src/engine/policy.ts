// The one adapter around @open-policy-agent/opa-wasm. The library throws bare
// strings and plain objects (opa_abort text, "entrypoint … is not valid",
// `{ message: "not implemented: built-in function …" }`); here they become a typed
// PolicyEvaluationError. An undefined result (`[]`) becomes an explicit deny, so no
// path out of this file can be mistaken for an allow.
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm'
import { PolicyBundleError, PolicyEvaluationError } from '../errors.js'
import type { PolicyBundle } from '../bundle/bundle.js'
import { knownEndpoints } from './input.js'
import { startIsolatedEvaluator, type IsolatedEvaluator } from './isolate.js'
import { type PolicyInput, type PolicyResult, undefinedResultDeny, toPolicyResult } from './result.js'

const textEncoder = new TextEncoder()

export interface PolicyIdentity { revision: string, digest: string }

export interface DecisionPolicy extends PolicyIdentity {
  readonly entrypoint: string
  /** The bundle's data document as JSON text (AuthZEN search lists its candidates from it). */
  readonly dataJson: Buffer
  /** The endpoints ("module/resource") the policy data names; undefined when it has no `erp` data. */
  readonly endpoints?: ReadonlySet<string> | undefined
  /** Synchronous, in this thread, no deadline: offline review and tools. */
  evaluate (input: PolicyInput): PolicyResult
  /**
   * The request path: with `isolate`, in a worker thread, answered
   * EVALUATION_TIMEOUT (503) past the deadline; without, `evaluate` in this thread.
   */
  decide (input: PolicyInput): Promise<PolicyResult>
  /** Stops the evaluation thread (also done when the policy is garbage-collected). */
  close (): Promise<void>
}

export interface LoadOptions {
  /** Evaluate `decide` in a worker thread with this deadline in ms (src/engine/isolate.ts). */
  isolate?: { deadlineMs?: number }
}

// A replaced policy's thread stops when nothing refers to the policy any more
// (requests still running on it keep it alive until they are answered).
const threads = new FinalizationRegistry<IsolatedEvaluator>((evaluator) => { evaluator.close().catch(() => {}) })

export async function loadDecisionPolicy (bundle: PolicyBundle, entrypoint: string, options: LoadOptions = {}): Promise<DecisionPolicy> {
  let wasm: LoadedPolicy
  try {
    wasm = await loadPolicy(bundle.wasm)
    wasm.setData(toArrayBuffer(bundle.dataJson))
  } catch (thrown) {
    throw new PolicyBundleError(`policy.wasm does not load: ${describe(thrown)}`)
  }
  if (!Object.hasOwn(wasm.entrypoints ?? {}, entrypoint)) {
    throw new PolicyBundleError(`policy.wasm has no entrypoint ${entrypoint} (it has: ${Object.keys(wasm.entrypoints ?? {}).join(', ') || 'none'})`)
  }
  const endpoints = endpointsOf(bundle)
  const isolated = options.isolate === undefined
    ? undefined
    : await startIsolatedEvaluator(bundle.wasm, bundle.dataJson, entrypoint, options.isolate.deadlineMs)
  const policy: DecisionPolicy = {
    revision: bundle.revision,
    digest: bundle.digest,
    entrypoint,
    dataJson: bundle.dataJson,
    endpoints,
    async decide (input: PolicyInput): Promise<PolicyResult> {
      if (isolated === undefined) return policy.evaluate(input)
      const resultSet = await isolated.evaluate(textEncoder.encode(JSON.stringify(input)))
      if (!Array.isArray(resultSet) || resultSet.length === 0) return undefinedResultDeny()
      return toPolicyResult((resultSet[0] as { result?: unknown }).result)
    },
    async close (): Promise<void> {
      await isolated?.close()
    },
    evaluate (input: PolicyInput): PolicyResult {
      let resultSet: unknown
      try {
        // JSON text as an ArrayBuffer skips the library's own JSON.stringify + copy;
        // TextEncoder gives the text its own exactly-sized buffer (Buffer.from may
        // hand out a slice of a shared pool).
        resultSet = wasm.evaluate(textEncoder.encode(JSON.stringify(input)).buffer, entrypoint)
      } catch (thrown) {
        throw new PolicyEvaluationError(describe(thrown))
      }
      if (!Array.isArray(resultSet) || resultSet.length === 0) return undefinedResultDeny()
      return toPolicyResult((resultSet[0] as { result?: unknown }).result)
    }
  }
  if (isolated !== undefined) threads.register(policy, isolated)
  return policy
}

// Read from the same data the WASM was given, so the list and the policy agree.
function endpointsOf (bundle: PolicyBundle): ReadonlySet<string> | undefined {
  try {
    return knownEndpoints(JSON.parse(bundle.dataJson.toString('utf8')))
  } catch (thrown) {
    throw new PolicyBundleError(`data.json is not valid JSON: ${describe(thrown)}`)
  }
}

function toArrayBuffer (buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
}

/** Text of whatever the library threw: an Error, a string, or `{ message }`. */
export function describe (thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message
  if (typeof thrown === 'string') return thrown
  if (thrown !== null && typeof thrown === 'object' && 'message' in thrown && typeof thrown.message === 'string') {
    return thrown.message
  }
  try {
    return JSON.stringify(thrown)
  } catch {
    return String(thrown)
  }
}
