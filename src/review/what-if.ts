// What-if data (`--data <dir-or-file>`): edited data laid over a scratch copy of
// a revision's policies directory before it is compiled, so a security team sees
// what an edit does before committing it. Read the way `opa eval --data` reads
// its arguments:
//   - a directory: each data file in it (data.json, data.yaml, data.yml) at its
//     relative path, replacing the data file of that directory in the copy;
//   - a file (JSON or YAML): a document at the data root, e.g. {"erp": {"security":
//     {...}}}; every data file of the copy the document reaches is replaced by the
//     document's value at its path, and keys that reach no file are added.
// Only data is laid over: a Rego file in the directory is refused, since Rego
// changes are reviewed from the working tree or a commit.
import { readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { extname, join, relative, sep } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ReviewError } from './review-error.js'

const DATA_FILES = ['data.json', 'data.yaml', 'data.yml']

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

async function walk (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await walk(path))
    else out.push(path)
  }
  return out
}

/** Removes the data files of `dir` in the copy (so one replaces them, never two that OPA would merge). */
async function clearData (dir: string): Promise<void> {
  await Promise.all(DATA_FILES.map(async (name) => await rm(join(dir, name), { force: true })))
}

/** Lays `source` (a directory or a file of data) over the policies copy at `policies`; returns what it replaced or added. */
export async function applyData (policies: string, source: string): Promise<string[]> {
  const info = await stat(source).catch(() => undefined)
  if (!info) throw new ReviewError(`--data ${source}: no such file or directory`)
  return info.isDirectory() ? await applyDirectory(policies, source) : await applyDocument(policies, source, await readDocument(source))
}

async function applyDirectory (policies: string, source: string): Promise<string[]> {
  const files = await walk(source)
  const rego = files.filter((f) => f.endsWith('.rego'))
  if (rego.length > 0) {
    throw new ReviewError(`--data ${source} holds Rego (${relative(source, rego[0] as string)}): --data lays over data only; review Rego changes from the working tree or a commit`)
  }
  const data = files.filter((f) => DATA_FILES.includes(f.split(sep).pop() ?? ''))
  if (data.length === 0) throw new ReviewError(`--data ${source} holds no data file (${DATA_FILES.join(', ')})`)
  const dirs = data.map((f) => relative(source, join(f, '..')))
  const twice = dirs.find((d, i) => dirs.indexOf(d) !== i)
  if (twice !== undefined) throw new ReviewError(`--data ${source}: two data files in ${twice || '.'}`)
  const changed: string[] = []
  for (const file of data) {
    const rel = relative(source, file)
    const target = join(policies, rel)
    await mkdir(join(target, '..'), { recursive: true })
    await clearData(join(target, '..'))
    // Parsed first: a file that does not parse is named here, not by the compiler.
    await readDocument(file)
    await writeFile(target, await readFile(file))
    changed.push(rel)
  }
  return changed.sort()
}

async function readDocument (file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8')
  try {
    return extname(file) === '.json' ? JSON.parse(text) as unknown : parseYaml(text) as unknown
  } catch (err) {
    throw new ReviewError(`--data ${file} is not ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`)
  }
}

/** Directories (relative, "" for the root) of the copy that hold a data file. */
async function dataDirs (policies: string): Promise<Set<string>> {
  const dirs = new Set<string>()
  for (const f of await walk(policies)) {
    if (DATA_FILES.includes(f.split(sep).pop() ?? '')) dirs.add(relative(policies, join(f, '..')))
  }
  return dirs
}

async function applyDocument (policies: string, source: string, doc: unknown): Promise<string[]> {
  if (!isObj(doc)) throw new ReviewError(`--data ${source} must be a mapping at the data root, e.g. {"erp": {"security": …}}`)
  const existing = await dataDirs(policies)
  const changed: string[] = []
  const place = async (path: string[], value: unknown): Promise<void> => {
    const rel = path.join('/')
    const below = [...existing].some((d) => rel === '' ? d !== '' : d.startsWith(`${rel}/`))
    if (!existing.has(rel) && below) {
      // Data files lie deeper: descend, so each is replaced by its own part of the document.
      if (!isObj(value)) throw new ReviewError(`--data ${source}: data.${path.join('.')} must be a mapping (data files lie below it)`)
      for (const [key, v] of Object.entries(value)) {
        if (key === '' || key.includes('/') || key === '.' || key === '..') throw new ReviewError(`--data ${source}: ${JSON.stringify(key)} cannot name a data directory`)
        await place([...path, key], v)
      }
      return
    }
    const dir = join(policies, ...path)
    await mkdir(dir, { recursive: true })
    await clearData(dir)
    await writeFile(join(dir, 'data.json'), JSON.stringify(value, null, 2) + '\n')
    changed.push(`${rel === '' ? '' : `${rel}/`}data.json`)
  }
  await place([], doc)
  return changed.sort()
}
