// The one adapter around @open-policy-agent/opa-wasm. The library throws bare
// strings and plain objects (opa_abort text, "entrypoint … is not valid",
// `{ message: "not implemented: built-in function …" }`); here they become a typed
// PolicyEvaluationError. An undefined result (`[]`) becomes an explicit deny, so no
// path out of this file can be mistaken for an allow.
import { createRequire } from 'node:module'
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm'
import { PolicyBundleError, PolicyEvaluationError } from '../errors.js'
import type { PolicyBundle } from '../bundle/bundle.js'
import { knownEndpoints } from './input.js'
import { startIsolatedEvaluator, type IsolatedEvaluator } from './isolate.js'
import { type PolicyInput, type PolicyResult, undefinedResultDeny, toPolicyResult } from './result.js'

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

export interface PolicyIdentity { revision: string, digest: string }

export interface DecisionPolicy extends PolicyIdentity {
  readonly entrypoint: string
  /** The bundle's data document as JSON text (AuthZEN search lists its candidates from it). */
  readonly dataJson: Buffer
  /** The endpoints ("module/resource") the policy data names; undefined when it has no `erp` data. */
  readonly endpoints?: ReadonlySet<string> | undefined
  /**
   * Synchronous, in this thread, no deadline: offline review and tools. A served
   * policy makes its in-thread instance (a second copy of the data in WASM) only
   * when this is first called; nothing on the request path calls it.
   */
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

// opa-wasm's synchronous loader is on its CommonJS entry (the ESM one names only loadPolicy).
const { loadPolicySync } = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as typeof import('@open-policy-agent/opa-wasm')

/**
 * With `isolate` (the server), the thread loads the WASM and the data and lists
 * the endpoints: this thread only copies data.json once into memory the thread
 * shares, so a large data document never blocks answering, and the in-thread
 * instance for `evaluate` is made only when a tool first asks for it. Without
 * (review tools, the bundle writer's check), everything loads here and now.
 */
export async function loadDecisionPolicy (bundle: PolicyBundle, entrypoint: string, options: LoadOptions = {}): Promise<DecisionPolicy> {
  if (options.isolate === undefined) {
    const wasm = await loadInThread(bundle.wasm, bundle.dataJson, entrypoint)
    return decisionPolicy(bundle, bundle.dataJson, entrypoint, endpointsOf(bundle.dataJson), () => wasm)
  }
  const dataJson = sharedCopy(bundle.dataJson)
  const isolated = await startIsolatedEvaluator(bundle.wasm, dataJson, entrypoint, options.isolate.deadlineMs)
  let wasm: LoadedPolicy | undefined
  const lazy = (): LoadedPolicy => { wasm ??= loadInThreadSync(bundle.wasm, dataJson, entrypoint); return wasm }
  const policy = decisionPolicy(bundle, dataJson, entrypoint, isolated.endpoints, lazy, isolated)
  threads.register(policy, isolated)
  return policy
}

function decisionPolicy (identity: PolicyIdentity, dataJson: Buffer, entrypoint: string, endpoints: ReadonlySet<string> | undefined,
  wasm: () => LoadedPolicy, isolated?: IsolatedEvaluator): DecisionPolicy {
  const evaluate = (input: PolicyInput): PolicyResult => {
    let resultSet: unknown
    try {
      // JSON text as an ArrayBuffer skips the library's own JSON.stringify + copy;
      // TextEncoder gives the text its own exactly-sized buffer (Buffer.from may
      // hand out a slice of a shared pool).
      resultSet = wasm().evaluate(textEncoder.encode(JSON.stringify(input)).buffer, entrypoint)
    } catch (thrown) {
      if (thrown instanceof PolicyBundleError) throw thrown
      throw new PolicyEvaluationError(describe(thrown))
    }
    return fromResultSet(resultSet)
  }
  return {
    revision: identity.revision,
    digest: identity.digest,
    entrypoint,
    dataJson,
    endpoints,
    evaluate,
    async decide (input: PolicyInput): Promise<PolicyResult> {
      if (isolated === undefined) return evaluate(input)
      const text = await isolated.evaluate(textEncoder.encode(JSON.stringify(input)))
      let resultSet: unknown
      try {
        resultSet = JSON.parse(textDecoder.decode(text))
      } catch (thrown) {
        throw new PolicyEvaluationError(`the result set is not JSON: ${describe(thrown)}`)
      }
      return fromResultSet(resultSet)
    },
    async close (): Promise<void> {
      await isolated?.close()
    }
  }
}

// `[]` (undefined) is the explicit deny; anything else must have the contract's shape.
function fromResultSet (resultSet: unknown): PolicyResult {
  if (!Array.isArray(resultSet) || resultSet.length === 0) return undefinedResultDeny()
  return toPolicyResult((resultSet[0] as { result?: unknown }).result)
}

async function loadInThread (wasmBytes: Uint8Array, dataJson: Buffer, entrypoint: string): Promise<LoadedPolicy> {
  let wasm: LoadedPolicy
  try {
    wasm = await loadPolicy(wasmBytes)
  } catch (thrown) {
    throw new PolicyBundleError(`policy.wasm does not load: ${describe(thrown)}`)
  }
  return withData(wasm, dataJson, entrypoint)
}

function loadInThreadSync (wasmBytes: Uint8Array, dataJson: Buffer, entrypoint: string): LoadedPolicy {
  let wasm: LoadedPolicy
  try {
    wasm = loadPolicySync(toArrayBuffer(wasmBytes))
  } catch (thrown) {
    throw new PolicyBundleError(`policy.wasm does not load: ${describe(thrown)}`)
  }
  return withData(wasm, dataJson, entrypoint)
}

function withData (wasm: LoadedPolicy, dataJson: Buffer, entrypoint: string): LoadedPolicy {
  try {
    wasm.setData(toArrayBuffer(dataJson))
  } catch (thrown) {
    parseData(dataJson) // said plainly when the text is not JSON at all (the bundle reader does not parse it)
    throw new PolicyBundleError(`policy.wasm does not load: ${describe(thrown)}`)
  }
  if (!Object.hasOwn(wasm.entrypoints ?? {}, entrypoint)) {
    throw new PolicyBundleError(`policy.wasm has no entrypoint ${entrypoint} (it has: ${Object.keys(wasm.entrypoints ?? {}).join(', ') || 'none'})`)
  }
  return wasm
}

// Read from the same data the WASM was given, so the list and the policy agree.
function endpointsOf (dataJson: Buffer): ReadonlySet<string> | undefined {
  return knownEndpoints(parseData(dataJson))
}

function parseData (dataJson: Buffer): unknown {
  try {
    return JSON.parse(dataJson.toString('utf8'))
  } catch (thrown) {
    throw new PolicyBundleError(`data.json is not valid JSON (${describe(thrown)})`)
  }
}

/** The bytes in a SharedArrayBuffer: a worker thread given them shares them instead of getting a copy. */
function sharedCopy (bytes: Buffer): Buffer {
  const shared = Buffer.from(new SharedArrayBuffer(bytes.byteLength))
  bytes.copy(shared)
  return shared
}

// A private ArrayBuffer of exactly these bytes (the constructor copies; a
// Buffer's slice would not): opa-wasm reads an ArrayBuffer as JSON text, but
// would JSON.stringify a SharedArrayBuffer into "{}".
function toArrayBuffer (bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer
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
