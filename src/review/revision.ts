// One policy revision ready to evaluate: its policies/ copied out of git (or the
// working tree), compiled with the pinned OPA, loaded as a WASM decision policy,
// and its data (as compiled into the bundle, so exactly what is evaluated).
// Compiles are cached per git tree id within the process: equal trees are equal
// policies, and a compile costs a second or two.
import { join } from 'node:path'
import { compilePolicies } from '../toolchain/compiler.js'
import { loadDecisionPolicy, type DecisionPolicy } from '../engine/policy.js'
import { copyWorkingTree, extractCommit, resolveRef } from './git.js'
import { ReviewError } from './review-error.js'
import { applyData } from './what-if.js'

export interface RevisionSpec {
  repo: string
  /** a git revision; undefined means the working tree */
  ref?: string
  /** the policies directory, relative to the repository */
  policiesPath: string
  entrypoint: string
  /** what-if data laid over the revision's policies before compiling (src/review/what-if.ts) */
  data?: string
}

export interface Revision {
  /** how reports name it: the ref, or "working tree" */
  label: string
  ref: string | null
  commit: string | null
  /** the commit's subject and author name; null for the working tree */
  subject: string | null
  author: string | null
  policy: DecisionPolicy
  /** the bundle's data document (data.json) */
  data: unknown
  /** where its policies directory was copied (for the text diff) */
  dir: string
}

interface Compiled { policy: DecisionPolicy, data: unknown }

const compiled = new Map<string, Promise<Compiled>>()

async function compile (dir: string, entrypoint: string, revision: string): Promise<Compiled> {
  let bundle
  try {
    // Data the schema refuses is still compared: a review shows what such a
    // revision would do (and names what it cannot cover); `verdict check` and the
    // loader refuse it.
    bundle = await compilePolicies({ dir, entrypoint, revision, checkData: false })
  } catch (err) {
    throw new ReviewError(`the policies of ${revision} do not compile: ${(err as Error).message}`)
  }
  try {
    const policy = await loadDecisionPolicy(bundle, entrypoint)
    return { policy, data: JSON.parse(bundle.dataJson.toString('utf8')) as unknown }
  } catch (err) {
    throw new ReviewError(`the policies of ${revision} do not load: ${(err as Error).message}`)
  }
}

/** Compiles a policies directory as it is on disk (no git needed): `verdict who-can`, `verdict can`. */
export async function loadDirectory (dir: string, entrypoint: string): Promise<Revision> {
  const { policy, data } = await compile(dir, entrypoint, 'working-tree')
  return { label: dir, ref: null, commit: null, subject: null, author: null, policy, data, dir }
}

/** Copies the revision's policies under `scratch/<slot>` and compiles them. */
export async function loadRevision (spec: RevisionSpec, scratch: string, slot: string): Promise<Revision> {
  const dest = join(scratch, slot)
  const whatIf = spec.data !== undefined ? ` with --data ${spec.data}` : ''
  if (spec.ref === undefined) {
    const dir = await copyWorkingTree(spec.repo, spec.policiesPath, dest)
    if (spec.data !== undefined) await applyData(dir, spec.data)
    const { policy, data } = await compile(dir, spec.entrypoint, 'working-tree')
    return { label: `working tree${whatIf}`, ref: null, commit: null, subject: null, author: null, policy, data, dir }
  }
  const resolved = await resolveRef(spec.repo, spec.ref, spec.policiesPath)
  const dir = await extractCommit(spec.repo, resolved.commit, spec.policiesPath, dest)
  if (spec.data !== undefined) {
    // Edited data is not the commit's tree: compiled afresh, never cached under the tree id.
    await applyData(dir, spec.data)
    const { policy, data } = await compile(dir, spec.entrypoint, `${resolved.commit.slice(0, 12)}-what-if`)
    return { label: `${spec.ref}${whatIf}`, ref: spec.ref, commit: resolved.commit, subject: resolved.subject, author: resolved.author, policy, data, dir }
  }
  const key = `${resolved.tree}\0${spec.entrypoint}`
  let entry = compiled.get(key)
  if (!entry) {
    entry = compile(dir, spec.entrypoint, resolved.commit.slice(0, 12))
    compiled.set(key, entry)
    // A failed compile is not cached: the next attempt reports it afresh.
    entry.catch(() => compiled.delete(key))
  }
  const { policy, data } = await entry
  return { label: spec.ref, ref: spec.ref, commit: resolved.commit, subject: resolved.subject, author: resolved.author, policy, data, dir }
}

export { ReviewError }
