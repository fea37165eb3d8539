// `verdict diff <base-ref> [<head-ref>]`: what a policy change does to access,
// not only how its text changed. See src/review/ and docs/AUDIT.md.
import { COMMON_USAGE, runReview } from './review.js'

const USAGE = `usage: verdict diff [options] <base-ref> [<head-ref>]

Builds policies/ of both git revisions (head: the working tree when omitted),
evaluates both over every account × endpoint × action and every account's row
scope per business object, and reports rights granted and revoked, job scope
gained and lost, principals and roles added or removed, beside the text diff.

  --replay <log>     also replay a decision log (JSON Lines; repeatable), as \`verdict replay\` does
${COMMON_USAGE}
`

export async function run (args: string[]): Promise<number> {
  return await runReview('diff', args, USAGE)
}
