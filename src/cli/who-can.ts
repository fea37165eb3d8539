// `verdict who-can <action> <endpoint> [--company C [--job J]]`: the accounts
// (and the credential route each takes) that may do it. See src/review/access.ts.
import { parseCommandArgs, usageError } from './args.js'
import { accessOptions, ACCESS_OPTIONS, ACCESS_USAGE, emit, renderWhoCan } from './access-output.js'
import { loadAccessTable, parseAction, parseEndpoint, whoCan, type WhoCanAnswer } from '../review/access.js'
import { ReviewError } from '../review/review-error.js'

const USAGE = `usage: verdict who-can [options] <action> <module/resource>

Lists the accounts that may do <action> (create, retrieve, update, delete) on the
endpoint, with the credential route each takes (HTTP Basic, a token of which
identity provider, which OAuth client), the role that grants it, and what it may
reach: the row scope of a read, the records a write may act on per company. With
--company (and --job), the single-record decision on that record instead.
The same enumeration and evaluation as \`verdict diff\`.

  --company <code>   ask about one record of this company
  --job <code>       ... and this job (with --company; "" for a record without a job)
${ACCESS_USAGE}
`

export async function run (args: string[]): Promise<number> {
  const parsed = parseCommandArgs('who-can', USAGE, {
    args,
    allowPositionals: true,
    options: { ...ACCESS_OPTIONS, company: { type: 'string' }, job: { type: 'string' } }
  })
  if (typeof parsed === 'number') return parsed
  const { values, positionals } = parsed
  if (positionals.length !== 2) return usageError('who-can', 'give an action and an endpoint (module/resource)', USAGE)
  if (values.job !== undefined && values.company === undefined) return usageError('who-can', '--job needs --company', USAGE)
  if (values.format !== 'text' && values.format !== 'json') return usageError('who-can', `--format must be text or json (got ${JSON.stringify(values.format)})`, USAGE)
  let action, endpoint
  try {
    action = parseAction(positionals[0] as string)
    endpoint = parseEndpoint(positionals[1] as string)
  } catch (err) {
    return usageError('who-can', (err as Error).message, USAGE)
  }
  let answer: WhoCanAnswer
  try {
    const table = await loadAccessTable(accessOptions(values))
    const record = values.company === undefined ? null : { company: values.company, ...(values.job !== undefined ? { job: values.job } : {}) }
    answer = whoCan(table, action, endpoint, record)
  } catch (err) {
    if (!(err instanceof ReviewError)) throw err
    process.stderr.write(`verdict who-can: ${err.message}\n`)
    return 2
  }
  await emit(values.format === 'json' ? JSON.stringify(answer, null, 2) + '\n' : renderWhoCan(answer), values.output)
  return 0
}
