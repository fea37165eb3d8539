// `verdict replay --log <file> <base-ref> [<head-ref>]`: re-evaluates every
// recorded decision under base and head and lists the ones that flip.
import { COMMON_USAGE, runReview } from './review.js'

const USAGE = `usage: verdict replay --log <file> [--log <file>…] [options] <base-ref> [<head-ref>]

Reads decision logs (JSON Lines, one decision-log event per line, as the file
sink writes them), evaluates every recorded policy input under the base and the
head revision (head: the working tree when omitted), and lists the decisions
that flip (allow→deny, deny→allow) or whose rows change, counted per endpoint
and per role. Events without a replayable input (authentication failures,
masked or erased input, unreadable lines) are counted and named.

  --log <file>       a decision log to replay (repeatable; required)
${COMMON_USAGE}
`

export async function run (args: string[]): Promise<number> {
  return await runReview('replay', args, USAGE)
}
