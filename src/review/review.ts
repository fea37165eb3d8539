// Puts a review together: both revisions built from git, their data read, the
// access space enumerated and evaluated under each, compared, the decision logs
// replayed, the text diff beside it all. The scratch copies are removed at the end.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compareAccess } from './compare.js'
import { evaluateSpace } from './evaluate.js'
import { repoRoot, textDiff } from './git.js'
import { readModel } from './model.js'
import { readDecisionLogs, replay } from './replay.js'
import { REPORT_FORMAT, summarize, type AccessDiff, type ReplayReport, type Report, type RevisionInfo } from './report.js'
import { loadRevision, type Revision } from './revision.js'
import { enumerateSpace, LIMITS } from './space.js'

export interface ReviewOptions {
  /** a directory inside the git repository (default: the current directory) */
  repo?: string
  base: string
  /** undefined: the working tree */
  head?: string
  policiesPath?: string
  entrypoint?: string
  /** evaluate the access space (verdict diff) */
  access: boolean
  /** decision logs to replay */
  logs?: string[]
  /** what-if data laid over the head (src/review/what-if.ts); without a head ref the head is the base revision with it */
  data?: string
}

const info = (r: Revision): RevisionInfo => ({ label: r.label, commit: r.commit, subject: r.subject, author: r.author, digest: r.policy.digest })

export async function review (options: ReviewOptions): Promise<Report> {
  const repo = await repoRoot(options.repo ?? process.cwd())
  const policiesPath = options.policiesPath ?? 'policies'
  const entrypoint = options.entrypoint ?? 'verdict/decision'
  // Logs are read first: an unreadable log is an error before any compile is paid for.
  const lines = options.logs && options.logs.length > 0 ? await readDecisionLogs(options.logs) : null
  const scratch = await mkdtemp(join(tmpdir(), 'verdict-review-'))
  try {
    const base = await loadRevision({ repo, ref: options.base, policiesPath, entrypoint }, scratch, 'base')
    const headRef = options.data !== undefined && options.head === undefined ? options.base : options.head
    const head = await loadRevision({ repo, ref: headRef, policiesPath, entrypoint, ...(options.data !== undefined ? { data: options.data } : {}) }, scratch, 'head')
    const baseModel = readModel(base.data, `base ${base.label}`)
    const headModel = readModel(head.data, `head ${head.label}`)
    const notCovered = [...baseModel.notCovered, ...headModel.notCovered]

    let access: AccessDiff | null = null
    if (options.access) {
      const space = enumerateSpace(baseModel, headModel)
      notCovered.push(...space.notCovered)
      access = compareAccess(space,
        { model: baseModel, evaluation: evaluateSpace(base, baseModel, space) },
        { model: headModel, evaluation: evaluateSpace(head, headModel, space) })
    }
    let replayed: ReplayReport | null = null
    if (lines) replayed = replay(lines, { revision: base, model: baseModel }, { revision: head, model: headModel }, options.logs ?? [])

    return {
      format: REPORT_FORMAT,
      command: options.access ? 'diff' : 'replay',
      base: info(base),
      head: info(head),
      summary: summarize(access, replayed, notCovered),
      access,
      replay: replayed,
      notCovered,
      limits: options.access ? [...LIMITS] : [],
      textDiff: await textDiff(scratch, 'base', 'head')
    }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}
