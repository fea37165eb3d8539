// GET /explorer's page: the active policy's data as a security team reads it —
// roles × endpoints × actions, accounts with their roles, identity providers,
// OAuth clients and job security groups, groups with their jobs per company — and
// a form that asks POST /v1/explain. One self-contained page: inline CSS and one
// inline script (both allowed by hash in the route's CSP), nothing fetched but
// /v1/explain. Roles, accounts and clients are read by the diff's own reader
// (model.ts); only groups and company access, which it does not keep, are read here.
import { createHash } from 'node:crypto'
import { esc } from './render-html.js'
import { readModel } from './model.js'
import { ACTIONS } from './space.js'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string')
const byText = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0

export interface ExplorerGroup { company: string, group: string, jobs: string[] | 'all', description: string }
export interface ExplorerAccount {
  account: string
  kind: string
  /** null: the account lists no identity providers (any configured one may speak for it) */
  idps: string[] | null
  roles: string[]
  /** "idp: client id" of every OAuth client mapped to the account */
  clients: string[]
  /** company -> job security groups (a company listed with none: company access without jobs) */
  groups: Array<{ company: string, groups: string[] }>
}
export interface ExplorerView {
  policy: { revision: string, digest: string }
  endpoints: string[]
  /** role (or "(bypass list)") -> endpoint -> actions */
  roles: Array<{ role: string, endpoints: Map<string, string[]> }>
  accounts: ExplorerAccount[]
  groups: ExplorerGroup[]
  notCovered: string[]
}

export const BYPASS_ROW = '(bypass list)'

export function explorerView (data: unknown, policy: { revision: string, digest: string }): ExplorerView {
  const model = readModel(data, 'active policy')
  const endpoints = new Set<string>()
  const roles: ExplorerView['roles'] = []
  for (const [role, eps] of [...model.roles].sort(([a], [b]) => byText(a, b))) {
    for (const ep of eps.keys()) endpoints.add(ep)
    roles.push({ role, endpoints: eps })
  }
  if (model.bypass.size > 0) {
    for (const ep of model.bypass.keys()) endpoints.add(ep)
    roles.push({ role: BYPASS_ROW, endpoints: model.bypass })
  }

  const security = isObj(data) && isObj(data.erp) && isObj(data.erp.security) ? data.erp.security : {}
  const access = isObj(security.access) ? security.access : {}
  const clientsOf = new Map<string, string[]>()
  for (const [idp, byClient] of model.clients) {
    for (const [client, account] of byClient) clientsOf.set(account, [...clientsOf.get(account) ?? [], `${idp}: ${client}`])
  }
  const accounts: ExplorerAccount[] = [...model.accounts].sort(([a], [b]) => byText(a, b)).map(([account, a]) => {
    const byCompany = isObj(access[account]) ? access[account] : {}
    return {
      account,
      kind: a.kind,
      idps: a.idps,
      roles: model.assignments.get(account) ?? [],
      clients: (clientsOf.get(account) ?? []).sort(),
      groups: Object.entries(byCompany).sort(([x], [y]) => byText(x, y)).map(([company, entry]) => ({
        company,
        groups: isObj(entry) && isStrings(entry.groups) ? entry.groups : []
      }))
    }
  })

  const groups: ExplorerGroup[] = []
  for (const [company, byGroup] of Object.entries(isObj(security.groups) ? security.groups : {}).sort(([a], [b]) => byText(a, b))) {
    for (const [group, g] of Object.entries(isObj(byGroup) ? byGroup : {}).sort(([a], [b]) => byText(a, b))) {
      const rec = isObj(g) ? g : {}
      groups.push({
        company,
        group,
        jobs: rec.all_jobs === true ? 'all' : isStrings(rec.jobs) ? rec.jobs : [],
        description: typeof rec.description === 'string' ? rec.description : ''
      })
    }
  }
  return {
    policy,
    endpoints: [...endpoints].sort(byText),
    roles,
    accounts,
    groups,
    notCovered: model.notCovered.map((n) => `${n.item}: ${n.reason}`)
  }
}

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f;max-width:1400px}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.scroll{max-width:100%;overflow:auto;max-height:70vh;margin:.5rem 0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top;text-align:left}
th{background:#f4f4f6}code{font-family:ui-monospace,monospace;font-size:.92em}
.matrix td{font-size:.85em;white-space:nowrap}.matrix thead th{position:sticky;top:0}
.none{color:#777;font-style:italic}
form{display:grid;grid-template-columns:max-content 28rem;gap:.35rem .75rem;align-items:center}
form button{grid-column:2;justify-self:start}
#verdict{font-weight:600;padding:.4rem .7rem;display:inline-block;border-radius:4px}
#verdict.allow{background:#e6f4ea;color:#0b6b2b}#verdict.deny{background:#fde8e8;color:#a01818}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;font-size:.85em;max-height:60vh}`

// Fills the form from the query string (so a link can name a case; the credential
// never travels in a URL), runs it when `run=1`, and shows the answer as text only:
// every value goes through textContent, never innerHTML.
const SCRIPT = `
(function(){
var form=document.getElementById('explain');
var q=new URLSearchParams(location.search);
['account','idp','method','path','company','job'].forEach(function(k){if(q.has(k))form.elements[k].value=q.get(k)});
function show(id,text){document.getElementById(id).textContent=text}
async function run(ev){
if(ev)ev.preventDefault();
var body={};
['account','idp','method','path','company','job'].forEach(function(k){var v=form.elements[k].value.trim();if(v!=='')body[k]=v});
var headers={'content-type':'application/json'};
var cred=form.elements.credential.value.trim();
if(cred!=='')headers.authorization=/^(Bearer|Basic) /i.test(cred)?cred:'Bearer '+cred;
var v=document.getElementById('verdict');
v.className='';show('verdict','asking…');show('trace','');
try{
var res=await fetch('/v1/explain',{method:'POST',headers:headers,body:JSON.stringify(body),credentials:'same-origin'});
var x=await res.json();
if(!res.ok){v.className='deny';show('verdict','error '+res.status+' '+(x.code||'')+': '+(x.message||''));return}
var d=x.decision;
v.className=d.allow?'allow':'deny';
show('verdict',(d.allow?'allow':'deny')+' ('+d.status+') — '+d.reasons.map(function(r){return r.layer+':'+r.code}).join(', '));
show('trace',JSON.stringify({identity:x.identity,api:x.api,application:x.application,decision:d,policy:x.policy},null,2));
document.body.setAttribute('data-explained',d.allow?'allow':'deny');
}catch(e){v.className='deny';show('verdict','request failed: '+e)}
}
form.addEventListener('submit',run);
if(q.get('run')==='1')run();
})();`

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

/** The Content-Security-Policy the page is served with: its own CSS and script by hash, fetches to itself only. */
export const EXPLORER_CSP = `default-src 'none'; style-src ${hash(CSS)}; script-src ${hash(SCRIPT)}; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'`

const list = (items: string[]): string => items.length > 0 ? items.map(esc).join(', ') : '<span class="none">none</span>'

function table (id: string, head: string[], rows: string[][], cls = ''): string {
  if (rows.length === 0) return `<p class="none" id="${id}">none</p>`
  return `<div class="scroll"><table id="${id}"${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.join('')}</tr>`).join('') + '</tbody></table></div>'
}

function roleMatrix (view: ExplorerView): string {
  const order = (actions: string[]): string[] => [...ACTIONS.filter((a) => actions.includes(a)), ...actions.filter((a) => !(ACTIONS as readonly string[]).includes(a))]
  const rows = view.roles.map((r) => [
    `<th scope="row">${esc(r.role)}</th>`,
    ...view.endpoints.map((ep) => `<td>${esc(order(r.endpoints.get(ep) ?? []).join(' '))}</td>`)
  ])
  return table('roles', ['API role', ...view.endpoints.map((ep) => `<code>${esc(ep)}</code>`)], rows, 'matrix')
}

export function renderExplorer (view: ExplorerView): string {
  const accounts = view.accounts.map((a) => [
    `<th scope="row">${esc(a.account)}</th>`,
    `<td>${esc(a.kind)}</td>`,
    `<td>${a.idps === null ? '<span class="none">any configured</span>' : list(a.idps)}</td>`,
    `<td>${list(a.roles)}</td>`,
    `<td>${list(a.clients)}</td>`,
    `<td>${a.groups.length > 0 ? a.groups.map((g) => `${esc(g.company)}: ${g.groups.length > 0 ? g.groups.map(esc).join(', ') : '<span class="none">company access, no jobs</span>'}`).join('<br>') : '<span class="none">no company</span>'}</td>`
  ])
  const groups = view.groups.map((g) => [
    `<td>${esc(g.company)}</td>`,
    `<th scope="row">${esc(g.group)}</th>`,
    `<td>${g.jobs === 'all' ? '<em>all jobs of the company</em>' : list(g.jobs)}</td>`,
    `<td>${esc(g.description)}</td>`
  ])
  const notCovered = view.notCovered.length > 0
    ? `<h2>Not shown</h2><ul id="not-covered">${view.notCovered.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`
    : ''
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Verdict policy explorer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${CSS}</style></head><body>
<h1>Verdict policy explorer</h1>
<p>Active policy <code id="revision">${esc(view.policy.revision)}</code>, digest <code>${esc(view.policy.digest)}</code>.</p>
<h2>Explain a decision</h2>
<form id="explain" autocomplete="off">
<label for="account">Account</label><input id="account" name="account" placeholder="ACME||JSMITH">
<label for="idp">Identity provider</label><input id="idp" name="idp" placeholder="basic">
<label for="method">Method</label><select id="method" name="method"><option>GET</option><option>POST</option><option>PUT</option><option>PATCH</option><option>DELETE</option></select>
<label for="path">Path</label><input id="path" name="path" placeholder="/cmictest/jc-rest-api/rest/1/jcjob">
<label for="company">Company (record)</label><input id="company" name="company">
<label for="job">Job (record)</label><input id="job" name="job">
<label for="credential">Your credential</label><input id="credential" name="credential" type="password" placeholder="bearer token of an admin role (empty: the gateway's)">
<button type="submit">Explain</button>
</form>
<p><span id="verdict"></span></p>
<pre id="trace"></pre>
<h2>API roles × endpoints × actions</h2>
${roleMatrix(view)}
<h2>Accounts</h2>
${table('accounts', ['Account', 'Kind', 'Identity providers', 'API roles', 'OAuth clients', 'Job security groups per company'], accounts)}
<h2>Job security groups</h2>
${table('groups', ['Company', 'Group', 'Jobs', 'Description'], groups)}
${notCovered}
<script>${SCRIPT}</script>
</body></html>
`
}
