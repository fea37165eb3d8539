// `verdict explain`: why a decision is what it is, layer by layer, from the
// policy's own evidence (src/review/explain.ts). The input comes from a file (a
// policy input or a decision-log event), a decision log (--log with --line or
// --decision-id), or flags (--account/--idp/--client, --method, --path,
// --company/--job).
import { readFile } from 'node:fs/promises'
import { parseCommandArgs, usageError } from './args.js'
import { emit } from './access-output.js'
import { inputFromDocument, inputFromFlags, inputFromLog, loadExplainer, type ExplainSource } from '../review/explain.js'
import { renderExplanation } from '../review/render-explain.js'
import { ReviewError } from '../review/review-error.js'
import type { PolicyInput } from '../engine/result.js'

const USAGE = `usage: verdict explain [options] (--input <file> | --log <file> [--line N | --decision-id ID] | --account … --method … --path …)

Explains one decision: the decision itself, then per layer the evidence the
policy used — how the credential became an ERP account (identity provider,
claim, client mapping), which API roles the account holds and which grant the
action (or the bypass entry), which companies and job security groups it
reaches, the record as read and the reason, the row filter of a read.

input (one of):
  --input <file>         a policy input (JSON), or one decision-log event
  --log <file>           a decision log (JSON Lines); with --line <n> or --decision-id <id>
  --account <name>       the ERP account, with --method and --path:
  --idp <name>           basic (default) or the identity provider whose token names the account
  --client <id>          instead of --account: an OAuth client of --idp (mapped in the data)
  --method <m>           GET, POST, PUT, PATCH, DELETE
  --path <p>             the ERP REST path, e.g. /cmictest/jc-rest-api/rest/1/jcjob
  --company <c>          one record of this company (and --job <j>)

options:
  --policies <dir>       policy directory (default: policies; with --ref, its path in the repository)
  --ref <rev>            explain under a git revision's policies (--repo: a directory in the repository)
  --data <path>          what-if: lay edited data over the policies first (see verdict diff --help)
  --format <f>           text (default) or json (the explanation as the policy returns it)
  -o, --output <file>    write there instead of stdout
  -h, --help             this text

exit: 0 explained, 2 error (bad usage, unreadable input, a policy that does not compile)
`

export async function run (args: string[]): Promise<number> {
  const parsed = parseCommandArgs('explain', USAGE, {
    args,
    options: {
      input: { type: 'string' },
      log: { type: 'string' },
      line: { type: 'string' },
      'decision-id': { type: 'string' },
      account: { type: 'string' },
      idp: { type: 'string' },
      client: { type: 'string' },
      method: { type: 'string' },
      path: { type: 'string' },
      company: { type: 'string' },
      job: { type: 'string' },
      policies: { type: 'string', default: 'policies' },
      ref: { type: 'string' },
      repo: { type: 'string' },
      data: { type: 'string' },
      format: { type: 'string', default: 'text' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (typeof parsed === 'number') return parsed
  const { values: v } = parsed
  const flags = v.account !== undefined || v.client !== undefined || v.method !== undefined || v.path !== undefined
  const sources = [v.input !== undefined, v.log !== undefined, flags].filter(Boolean).length
  if (sources !== 1) return usageError('explain', 'give one input: --input <file>, --log <file>, or --account/--client with --method and --path', USAGE)
  if (flags && (v.method === undefined || v.path === undefined)) return usageError('explain', '--method and --path are needed with --account or --client', USAGE)
  if (v.format !== 'text' && v.format !== 'json') return usageError('explain', `--format must be text or json (got ${JSON.stringify(v.format)})`, USAGE)
  const line = v.line !== undefined ? Number(v.line) : undefined
  if (line !== undefined && !(Number.isInteger(line) && line > 0)) return usageError('explain', '--line must be a line number', USAGE)

  try {
    let input: PolicyInput
    if (v.input !== undefined) {
      let doc: unknown
      try {
        doc = JSON.parse(await readFile(v.input, 'utf8'))
      } catch (err) {
        throw new ReviewError(`cannot read ${v.input} as JSON: ${(err as Error).message}`)
      }
      input = inputFromDocument(doc, v.input)
    } else if (v.log !== undefined) {
      input = await inputFromLog(v.log, { ...(line !== undefined ? { line } : {}), ...(v['decision-id'] !== undefined ? { decisionId: v['decision-id'] } : {}) })
    } else {
      input = inputFromFlags({ method: v.method as string, path: v.path as string, ...pick(v, ['account', 'idp', 'client', 'company', 'job']) })
    }
    const source: ExplainSource = { policies: v.policies, ...pick(v, ['ref', 'repo', 'data']) }
    const explainer = await loadExplainer(source)
    const explanation = explainer.explain(input)
    await emit(v.format === 'json'
      ? JSON.stringify({ policies: { label: explainer.label, digest: explainer.digest }, input, ...explanation }, null, 2) + '\n'
      : renderExplanation(explanation, input, explainer), v.output)
    return 0
  } catch (err) {
    if (!(err instanceof ReviewError)) throw err
    process.stderr.write(`verdict explain: ${err.message}\n`)
    return 2
  }
}

function pick<K extends string> (values: Partial<Record<string, unknown>>, keys: K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {}
  for (const k of keys) if (typeof values[k] === 'string') out[k] = values[k]
  return out
}
