// The revision a built bundle carries in its .manifest: the git commit of the
// policy directory when it is in a git work tree, so a decision's
// `policy.revision` leads straight to the reviewed change. Uncommitted changes
// under the directory make it `<commit>-dirty-<12 hex of the content digest>`:
// the commit alone would name something that was not built, and the digest part
// tells two dirty builds apart.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

async function git (dir: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['-C', dir, ...args], { encoding: 'utf8', timeout: 30_000 })
    return stdout.trim()
  } catch {
    return undefined // not a work tree, no commit yet, or no git at all
  }
}

/** The git revision of the directory's policies, or undefined outside a git work tree (or without a commit). */
export async function gitRevision (dir: string, digest: string): Promise<string | undefined> {
  if (await git(dir, ['rev-parse', '--is-inside-work-tree']) !== 'true') return undefined
  const commit = await git(dir, ['rev-parse', '--verify', 'HEAD'])
  if (!commit) return undefined
  // Untracked files count (a new policy file is a change); ignored ones do not.
  const changes = await git(dir, ['status', '--porcelain', '--untracked-files=all', '--', '.'])
  if (changes === undefined) return undefined
  return changes === '' ? commit : `${commit}-dirty-${digest.replace(/^sha256:/, '').slice(0, 12)}`
}
