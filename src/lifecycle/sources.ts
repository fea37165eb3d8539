// The files of a policy directory that the compiler reads, and one digest of
// them. OPA's loader (`opa build` of a directory) reads *.rego modules, *.json,
// *.yaml and *.yml data and *.tar.gz bundles, following symbolic links; the
// compiler tells it to leave out tests and hidden entries (compiler.ts). The
// digest names the sources a policy was compiled from, so the reconciler can
// tell whether the files on disk are still the active policy's.
import { createHash } from 'node:crypto'
import type { Dirent } from 'node:fs'
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setImmediate as turn } from 'node:timers/promises'
import { isHiddenName, isTestFile } from '../toolchain/compiler.js'

/** Bytes hashed per turn of the event loop (about 2 ms of SHA-256). */
const HASH_SLICE_BYTES = 1024 * 1024

/** File names OPA's loader reads (its extension match is case-sensitive: `x.JSON` is not read). */
const LOADED_NAME = /\.(?:rego|json|ya?ml|tar\.gz)$/

/** True for a path (relative to the policy directory) of a file the compiler reads. */
export function isPolicySource (relativePath: string): boolean {
  const segments = relativePath.split(/[\\/]/)
  if (segments.some(isHiddenName)) return false
  const name = segments.at(-1) as string
  return LOADED_NAME.test(name) && !isTestFile(name)
}

export interface SourcesDigest {
  /** `sha256:` and the hex digest of the files, by path. */
  digest: string
  /** The files, relative to the directory with `/` separators, sorted. */
  files: string[]
}

/**
 * The policy files under `dir` and their digest: SHA-256 over every file in
 * path order, each as its path, its length and its bytes (so moving content
 * between files, or renaming one, changes the digest). Throws when the
 * directory or a file in it cannot be read. The reads run side by side: on a
 * busy event loop every sequential await costs a turn, and a reload waits on
 * this.
 */
export async function digestPolicySources (dir: string): Promise<SourcesDigest> {
  const files = (await listPolicySources(dir)).sort()
  const contents = await Promise.all(files.map((file) => readFile(join(dir, file))))
  const hash = createHash('sha256')
  for (const [i, file] of files.entries()) {
    const content = contents[i] as Buffer
    hash.update(`${file}\0${content.length}\0`)
    // In slices, a turn of the event loop between them: 8 MB hashed at once paused answering for 35 ms.
    for (let at = 0; at < content.length; at += HASH_SLICE_BYTES) {
      if (at > 0) await turn()
      hash.update(content.subarray(at, at + HASH_SLICE_BYTES))
    }
  }
  return { digest: 'sha256:' + hash.digest('hex'), files }
}

/** The policy files under `dir`, relative, following links to files and folders (a link cycle is walked once). */
export async function listPolicySources (dir: string): Promise<string[]> {
  const walk = async (relative: string, ancestors: Set<string>): Promise<string[]> => {
    const absolute = relative === '' ? dir : join(dir, relative)
    const [real, entries] = await Promise.all([realpath(absolute), readdir(absolute, { withFileTypes: true })])
    if (ancestors.has(real)) return []
    const inside = new Set(ancestors).add(real)
    const found = await Promise.all(entries.filter((entry) => !isHiddenName(entry.name)).map(async (entry: Dirent): Promise<string[]> => {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`
      let isDirectory = entry.isDirectory()
      let isFile = entry.isFile()
      if (entry.isSymbolicLink()) {
        const target = await stat(join(dir, path)) // a dangling link throws, as it fails the compile
        isDirectory = target.isDirectory()
        isFile = target.isFile()
      }
      if (isDirectory) return await walk(path, inside)
      return isFile && isPolicySource(path) ? [path] : []
    }))
    return found.flat()
  }
  return await walk('', new Set())
}
