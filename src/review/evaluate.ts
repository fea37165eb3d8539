// Asks one revision every question of the access space through its real
// decision entrypoint, and keeps per question what an auditor compares: which
// account the credential resolved to, whether API security let the call through,
// the decision, (for collection reads) the row scope, and the single-record
// decision on every record of the space.
import type { Action, PolicyResult } from '../engine/result.js'
import type { ErpModel } from './model.js'
import type { Revision } from './revision.js'
import { readScope, type Scope } from './scope.js'
import { ACTIONS, inputFor, type Space } from './space.js'

export interface Cell {
  /** the account the policy resolved (principal.id), null when nothing resolved */
  account: string | null
  kind: string
  /** API security let the call through (the application layer was consulted, per the policy contract) */
  api: boolean
  allow: boolean
  /** "layer:code" of every reason */
  codes: string[]
  /** collection reads only */
  scope: Scope | null
  /** record key -> whether the single-record decision allows (the endpoint's records in the space) */
  records: Map<string, boolean>
}

export type Evaluation = Map<string, Cell>

export const cellKey = (route: string, endpoint: string, action: Action): string => `${route}\0${endpoint}\0${action}`

/**
 * By the policy contract the application layer is listed only when API security
 * allowed, so a decision says whether the endpoint right was held even when a
 * write without a record is then refused by application security.
 */
export function apiAllowed (result: PolicyResult): boolean {
  return result.allow || result.reasons.some((r) => r.layer === 'application')
}

export function evaluateSpace (revision: Revision, model: ErpModel, space: Space): Evaluation {
  const out: Evaluation = new Map()
  for (const route of space.routes) {
    for (const endpoint of space.endpoints) {
      const object = model.objects.get(endpoint.resource)
      const declared = object?.module === endpoint.module ? object : undefined
      const records = space.records.get(endpoint.key) ?? []
      for (const action of ACTIONS) {
        const result = revision.policy.evaluate(inputFor(route, endpoint, action))
        const allowed = new Map<string, boolean>()
        for (const record of records) {
          allowed.set(record.key, revision.policy.evaluate(inputFor(route, endpoint, action, record.resource)).allow)
        }
        out.set(cellKey(route.key, endpoint.key, action), {
          account: result.principal?.id ?? null,
          kind: result.principal?.kind ?? 'unknown',
          api: apiAllowed(result),
          allow: result.allow,
          codes: result.reasons.map((r) => `${r.layer}:${r.code}`),
          scope: action === 'retrieve' ? readScope(result.rows, declared) : null,
          records: allowed
        })
      }
    }
  }
  return out
}
