// What `verdict diff` and `verdict replay` share: their options, the report
// written in the asked format (stdout or -o file), and the exit code of the CI
// gate: 0 nothing changed, 1 something changed (per --fail-on), 2 an error.
import { parseCommandArgs, usageError } from './args.js'
import { writeFile } from 'node:fs/promises'
import { renderHtml } from '../review/render-html.js'
import { renderJson } from '../review/render-json.js'
import { renderMarkdown } from '../review/render-markdown.js'
import { exitCode, FAIL_ON, type FailOn, type Report } from '../review/report.js'
import { review, type ReviewOptions } from '../review/review.js'

export const FORMATS = ['markdown', 'json', 'html'] as const
export type Format = typeof FORMATS[number]

export const COMMON_USAGE = `  --format <f>       markdown (default; for a pull-request comment), json (for tools), html (self-contained page)
  -o, --output <file> write the report there instead of stdout
  --fail-on <what>   which changes make the exit code 1: any (default), grants (new access only:
                     rights granted, job scope gained, principals added, deny→allow), revokes
  --data <path>      what-if: lay edited data over the head before evaluating it, without a commit
                     (a directory of data files at their paths under policies/, or one JSON/YAML
                     document at the data root); without a head ref the head is the base with it
  --repo <dir>       a directory in the git repository (default: the current directory)
  --policies <path>  the policies directory in the repository (default: policies)
  --entrypoint <e>   the decision entrypoint (default: verdict/decision)
  -h, --help         this text

exit: 0 nothing changed, 1 something changed (per --fail-on), 2 error (bad ref, compile error, unreadable log)`

export const RENDER: Record<Format, (r: Report) => string> = { markdown: renderMarkdown, json: renderJson, html: renderHtml }

class UsageError extends Error {}

export async function runReview (command: 'diff' | 'replay', args: string[], usage: string): Promise<number> {
  const parsed = parseCommandArgs(command, usage, {
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'markdown' },
      output: { type: 'string', short: 'o' },
      'fail-on': { type: 'string', default: 'any' },
      repo: { type: 'string' },
      policies: { type: 'string', default: 'policies' },
      entrypoint: { type: 'string', default: 'verdict/decision' },
      log: { type: 'string', multiple: true },
      replay: { type: 'string', multiple: true },
      data: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (typeof parsed === 'number') return parsed
  const { values, positionals } = parsed
  let options: ReviewOptions
  let format: Format
  let failOn: FailOn
  try {
    format = oneOf(values.format, FORMATS, '--format')
    failOn = oneOf(values['fail-on'], FAIL_ON, '--fail-on')
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError('give a base revision and, optionally, a head revision (default: the working tree)')
    if (command === 'diff' && values.log) throw new UsageError('--log belongs to `verdict replay`; use --replay <file> with diff')
    if (command === 'replay' && values.replay) throw new UsageError('--replay belongs to `verdict diff`; use --log <file> with replay')
    const logs = command === 'diff' ? values.replay ?? [] : values.log ?? []
    if (command === 'replay' && logs.length === 0) throw new UsageError('give at least one decision log with --log <file>')
    options = {
      repo: values.repo,
      base: positionals[0] as string,
      head: positionals[1],
      policiesPath: values.policies,
      entrypoint: values.entrypoint,
      access: command === 'diff',
      logs
    }
    if (values.data !== undefined) options.data = values.data
  } catch (err) {
    if (err instanceof UsageError) return usageError(command, err.message, usage)
    throw err
  }
  try {
    const report = await review(options)
    const text = RENDER[format](report)
    if (values.output) await writeFile(values.output, text)
    else process.stdout.write(text)
    return exitCode(report, failOn)
  } catch (err) {
    process.stderr.write(`verdict ${command}: ${(err as Error).message}\n`)
    return 2
  }
}

function oneOf<T extends string> (value: string | undefined, allowed: readonly T[], name: string): T {
  if (value !== undefined && (allowed as readonly string[]).includes(value)) return value as T
  throw new UsageError(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`)
}
