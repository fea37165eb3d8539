// `verdict can <account>`: every endpoint × action the account holds, through
// which credential routes, and its scope per company. See src/review/access.ts.
import { parseCommandArgs, usageError } from './args.js'
import { accessOptions, ACCESS_OPTIONS, ACCESS_USAGE, emit, renderCan } from './access-output.js'
import { can, loadAccessTable, type CanAnswer } from '../review/access.js'
import { ReviewError } from '../review/review-error.js'

const USAGE = `usage: verdict can [options] <account>

Lists every endpoint × action the account holds (through any credential route
the data defines: HTTP Basic, a token of an identity provider, a mapped OAuth
client), the role that grants it, and its scope: the row scope of a read per
company, the records a write may act on per company and job. The same
enumeration and evaluation as \`verdict diff\`.

${ACCESS_USAGE}
`

export async function run (args: string[]): Promise<number> {
  const parsed = parseCommandArgs('can', USAGE, { args, allowPositionals: true, options: ACCESS_OPTIONS })
  if (typeof parsed === 'number') return parsed
  const { values, positionals } = parsed
  if (positionals.length !== 1) return usageError('can', 'give one account, e.g. "ACME||SVC_PAYROLL"', USAGE)
  if (values.format !== 'text' && values.format !== 'json') return usageError('can', `--format must be text or json (got ${JSON.stringify(values.format)})`, USAGE)
  let answer: CanAnswer
  try {
    answer = can(await loadAccessTable(accessOptions(values)), positionals[0] as string)
  } catch (err) {
    if (!(err instanceof ReviewError)) throw err
    process.stderr.write(`verdict can: ${err.message}\n`)
    return 2
  }
  await emit(values.format === 'json' ? JSON.stringify(answer, null, 2) + '\n' : renderCan(answer), values.output)
  return 0
}
