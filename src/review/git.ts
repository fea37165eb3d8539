// Git plumbing for `verdict diff`: which commit a ref names, the policies/ tree of
// that commit (or of the working tree) copied into a scratch directory, and the
// text diff between two such copies. Everything runs `git` with argument arrays
// (never a shell), so a ref or a path cannot be read as an option or a command.
import { execFile, spawn } from 'node:child_process'
import { cp, mkdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { x as untar } from 'tar'
import { ReviewError } from './review-error.js'

const exec = promisify(execFile)

async function git (cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' })
    return stdout
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') throw new ReviewError('git is not installed (or not on PATH)')
    throw new ReviewError(`git ${args[0] ?? ''} failed: ${(e.stderr ?? e.message).trim()}`)
  }
}

/** The top directory of the git work tree that holds `dir`. */
export async function repoRoot (dir: string): Promise<string> {
  try {
    return (await git(resolve(dir), ['rev-parse', '--show-toplevel'])).trim()
  } catch {
    throw new ReviewError(`${resolve(dir)} is not inside a git repository`)
  }
}

export interface ResolvedRef {
  /** the ref as the user wrote it */
  ref: string
  /** full commit id */
  commit: string
  /** tree id of the policies directory in that commit: equal trees, equal policies */
  tree: string
  /** the commit's subject line and author name, as reports name it */
  subject: string
  author: string
}

/** Resolves `ref` to a commit that has the policies directory; a clear error otherwise. */
export async function resolveRef (repo: string, ref: string, policiesPath: string): Promise<ResolvedRef> {
  // A ref starting with '-' would be read by git as an option.
  if (ref === '' || ref.startsWith('-')) throw new ReviewError(`"${ref}" is not a git revision`)
  let commit: string
  try {
    commit = (await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim()
  } catch {
    throw new ReviewError(`"${ref}" names no commit in ${repo}`)
  }
  let tree: string
  try {
    tree = (await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${commit}:${policiesPath}`])).trim()
  } catch {
    throw new ReviewError(`commit ${commit.slice(0, 12)} (${ref}) has no ${policiesPath}/ directory`)
  }
  // NUL-separated: a subject or a name may hold any other character.
  const [subject = '', author = ''] = (await git(repo, ['log', '-1', '--format=%s%x00%an', commit, '--'])).replace(/\n$/, '').split('\0')
  return { ref, commit, tree, subject, author }
}

/** Writes `policiesPath` of `commit` under `dest` (dest/<policiesPath>/…). */
export async function extractCommit (repo: string, commit: string, policiesPath: string, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true })
  const child = spawn('git', ['archive', '--format=tar', commit, '--', policiesPath], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve(code ?? 1))
  })
  const extracted = new Promise<void>((resolve, reject) => {
    const sink = untar({ cwd: dest, strict: true })
    sink.on('error', reject)
    sink.on('finish', () => resolve())
    child.stdout.pipe(sink)
  })
  const [code] = await Promise.all([exited, extracted])
  if (code !== 0) throw new ReviewError(`git archive ${commit.slice(0, 12)} failed: ${stderr.trim()}`)
  return join(dest, policiesPath)
}

/** Copies the working tree's policies directory under `dest` (uncommitted edits included). */
export async function copyWorkingTree (repo: string, policiesPath: string, dest: string): Promise<string> {
  const source = join(repo, policiesPath)
  const info = await stat(source).catch(() => undefined)
  if (!info?.isDirectory()) throw new ReviewError(`the working tree has no ${policiesPath}/ directory`)
  const target = join(dest, policiesPath)
  await cp(source, target, { recursive: true })
  return target
}

/**
 * The text diff of two policy copies, as `git diff` prints it, with paths
 * relative to the repository (a/policies/…, b/policies/…). `git diff --no-index`
 * works for both a commit and the working tree, untracked files included.
 */
export async function textDiff (parent: string, baseName: string, headName: string): Promise<string> {
  let out: string
  try {
    const { stdout } = await exec('git', ['diff', '--no-index', '--no-color', '--no-ext-diff', '--', baseName, headName],
      { cwd: parent, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' })
    out = stdout
  } catch (err) {
    // --no-index exits 1 when the trees differ: that is the normal case.
    const e = err as { code?: unknown, stdout?: string, stderr?: string }
    if (e.code !== 1 || typeof e.stdout !== 'string') throw new ReviewError(`git diff failed: ${(e.stderr ?? '').trim()}`)
    out = e.stdout
  }
  // Only header lines name the scratch directories; content lines stay as they are.
  const header = /^(diff --git |--- |\+\+\+ |rename from |rename to |copy from |copy to )/
  return out.split('\n').map((line) => header.test(line)
    ? line.split(`a/${baseName}/`).join('a/').split(`b/${headName}/`).join('b/')
      .split(`a/${headName}/`).join('a/').split(`b/${baseName}/`).join('b/')
    : line).join('\n')
}
