// An explanation in plain words, one paragraph per layer, from the evidence the
// policy returned (src/review/explain.ts): the words are made here, every fact
// comes from the policy.
import type { PolicyInput } from '../engine/result.js'
import type { Explanation } from './explain.js'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
const str = (v: unknown): string => typeof v === 'string' ? v : JSON.stringify(v)
const list = (v: unknown): string => Array.isArray(v) && v.length > 0 ? v.map(str).join(', ') : 'none'
const reason = (v: unknown): string => isObj(v) ? `${str(v.code)}: ${str(v.message)}` : '(no reason)'

function identityWords (e: Obj | null): string {
  if (!e) return 'Identity: the input names no principal.'
  const credential = e.method === 'basic' ? 'HTTP Basic' : `a ${str(e.method ?? 'jwt')} token of identity provider ${str(e.idp)}`
  const how = e.resolved_by === 'erp_user'
    ? `naming ERP user ${str(e.erp_user_claim)}`
    : e.resolved_by === 'client_mapping'
      ? `for client ${str(e.client_id)}, mapped to account ${str(e.account)} in data.erp.accounts.clients.${str(e.idp)}`
      : `naming no ERP user; client ${str(e.client_id)} is not mapped`
  const parts = [`Identity: ${credential} ${how}.`]
  if (e.account === null) parts.push('No account: denied.')
  else if (e.known !== true) parts.push(`Account ${str(e.account)} is not in data.erp.accounts.users: denied.`)
  else {
    parts.push(`Account ${str(e.account)} (${str(e.kind)}) ${e.account_idps === null ? 'lists no identity providers (any configured one may speak for it)' : `lists identity providers ${list(e.account_idps)}`};`,
      e.idp_allowed === true ? `${str(e.idp)} may speak for it.` : `${str(e.idp)} may not: denied.`)
  }
  return parts.join(' ')
}

function apiWords (e: Obj | null): string {
  if (!e) return 'API security: not evaluated (the input names no endpoint).'
  const held = isObj(e.role_actions) ? Object.entries(e.role_actions).map(([role, acts]) => `${role} (${list(acts)} on ${str(e.endpoint)})`) : []
  return [
    `API security, ${str(e.action)} on ${str(e.endpoint)}:`,
    `API roles ${held.length > 0 ? held.join('; ') : 'none'};`,
    `granting ${list(e.granting_roles)};`,
    `bypass list for ${str(e.endpoint)}: ${list(e.bypass_actions)}.`,
    `${e.allow === true ? 'Allows' : 'Denies'} — ${reason(e.reason)}`
  ].join(' ')
}

function applicationWords (e: Obj | null, input: PolicyInput): string {
  if (!e) return 'Application security: not evaluated.'
  const lead = e.consulted === true ? 'Application security' : 'Application security (not consulted: API security denied; shown for reference)'
  const object = isObj(e.object)
    ? `object ${str(e.endpoint ?? input.endpoint.resource)} keyed by ${[e.object.company_field, e.object.job_field].filter((x) => typeof x === 'string').join(', ') || 'nothing (all rows)'}`
    : 'the object is not declared'
  const groups = isObj(e.groups)
    ? Object.entries(e.groups).map(([c, gs]) => `${c}: ${isObj(gs) && Object.keys(gs).length > 0 ? Object.entries(gs).map(([g, jobs]) => `${g} (${jobs === 'all' ? 'all jobs' : `jobs ${list(jobs)}`})`).join(', ') : 'no groups'}`).join('; ')
    : ''
  const record = isObj(e.record) ? ` The record, as the policy reads it: ${JSON.stringify(e.record)}.` : ''
  const rows = isObj(e.rows) ? ` Rows: ${str(e.rows.kind)}${e.rows.kind === 'conditional' ? ` ${JSON.stringify(e.rows.filter)}` : ''}.` : ''
  return `${lead}: ${object}; companies ${list(e.companies)}; job security groups ${groups || 'none'}.${record} ${e.allow === true ? 'Allows' : 'Denies'} — ${reason(e.reason)}${e.consulted === true && input.resource === undefined ? rows : ''}`
}

export function renderExplanation (x: Explanation, input: PolicyInput, policies: { label: string, digest: string }): string {
  const d = x.decision
  const what = `${input.action} ${input.endpoint.module}/${input.endpoint.resource}${input.resource ? ` record ${JSON.stringify(input.resource)}` : ''}`
  return [
    `## Explain: ${d.allow ? 'allow' : 'deny'} (${d.status}) — ${what}`,
    '',
    `Policies: ${policies.label} (${policies.digest})`,
    '',
    `Decision: ${d.allow ? 'allow' : 'deny'}, reasons ${d.reasons.map((r) => `${r.layer}:${r.code}`).join(', ')}; principal ${d.principal ? `${d.principal.id} (${d.principal.kind})` : '(none)'}.`,
    '',
    `1. ${identityWords(x.identity)}`,
    `2. ${apiWords(x.api)}`,
    `3. ${applicationWords(x.application, input)}`,
    ''
  ].join('\n')
}
