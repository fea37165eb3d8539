// What `verdict who-can` and `verdict can` share: loading the revision asked
// about (the policies directory, or a git revision with --ref), their common
// options, and their answers as a Markdown table (text) or JSON.
import { writeFile } from 'node:fs/promises'
import type { AccessOptions, CanAnswer, WhoCanAnswer } from '../review/access.js'
import type { RevisionInfo } from '../review/report.js'
import { revisionLine } from '../review/render-markdown.js'

export const ACCESS_USAGE = `  --ref <rev>        ask a git revision's policies (default: the policies directory as it is)
  --policies <dir>   the policies directory (default: policies; with --ref, its path in the repository)
  --repo <dir>       with --ref: a directory in the git repository (default: the current directory)
  --data <path>      what-if: lay edited data over the policies first (a directory of data files at
                     their paths under policies/, or one JSON/YAML document at the data root)
  --entrypoint <e>   the decision entrypoint (default: verdict/decision)
  --format <f>       text (default; a Markdown table) or json
  -o, --output <file> write the answer there instead of stdout
  -h, --help         this text

exit: 0 answered (also when nobody may), 2 error (bad usage, a policy that does not compile, an unknown account)`

export const ACCESS_OPTIONS = {
  ref: { type: 'string' },
  policies: { type: 'string', default: 'policies' },
  repo: { type: 'string' },
  data: { type: 'string' },
  entrypoint: { type: 'string', default: 'verdict/decision' },
  format: { type: 'string', default: 'text' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' }
} as const

export function accessOptions (values: { ref?: string, policies?: string, repo?: string, entrypoint?: string, data?: string }): AccessOptions {
  const options: AccessOptions = { policies: values.policies ?? 'policies', entrypoint: values.entrypoint ?? 'verdict/decision' }
  if (values.ref !== undefined) options.ref = values.ref
  if (values.repo !== undefined) options.repo = values.repo
  if (values.data !== undefined) options.data = values.data
  return options
}

export async function emit (text: string, output: string | undefined): Promise<void> {
  if (output !== undefined) await writeFile(output, text)
  else process.stdout.write(text)
}

// Table cells: account names carry pipes (ACME||SVC_PAYROLL).
const cell = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
const code = (v: string): string => `\`${v.replace(/`/g, "'")}\``

function table (head: string[], rows: string[][]): string {
  if (rows.length === 0) return '_none_\n'
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n'
}

const revision = (r: RevisionInfo): string => `Policies: ${revisionLine(r, code, cell)} (${r.digest})`

function notCovered (list: Array<{ item: string, reason: string }>): string[] {
  return list.length === 0 ? [] : ['', `Not covered (${list.length}):`, '', ...list.map((n) => `- ${n.item}: ${n.reason}`)]
}

export function renderWhoCan (a: WhoCanAnswer): string {
  const what = a.record === null
    ? ''
    : ` on the record of company ${a.record.company}${a.record.job !== undefined ? `, job ${a.record.job === '' ? '(blank)' : a.record.job}` : ''}`
  return [
    `## Who can ${a.action} ${code(a.endpoint)}${what}`, '', revision(a.revision), '',
    table(['account', 'kind', 'via', 'granted by', a.record === null ? 'scope' : 'why'],
      a.accounts.map((r) => [cell(r.account), r.kind, cell(r.via.join(', ')), cell(r.roles.join(', ')), cell(r.scope)])),
    ...notCovered(a.notCovered)
  ].join('\n').replace(/\n*$/, '\n')
}

export function renderCan (a: CanAnswer): string {
  return [
    `## What ${cell(a.account)} can do`, '', revision(a.revision), '',
    `Kind: ${a.kind}; identity providers: ${a.idps === null ? '(any configured)' : a.idps.join(', ') || '(none)'}; credential routes: ${a.routes.length > 0 ? cell(a.routes.join(', ')) : '(none)'}`, '',
    table(['endpoint', 'action', 'scope', 'granted by', 'via'],
      a.rights.map((r) => [code(r.endpoint), r.action, cell(r.scope), cell(r.roles.join(', ')), cell(r.via.join(', '))])),
    ...notCovered(a.notCovered)
  ].join('\n').replace(/\n*$/, '\n')
}
