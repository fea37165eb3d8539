// Stages a policy directory for `opa build` with its YAML data as JSON. Runs in
// the compiler's data thread (off-thread.ts): parsing megabytes of YAML on the
// main thread would pause every answer while a policy reloads.
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CORE_SCHEMA, load as loadYaml, YAMLException } from 'js-yaml'
import { PolicyCompileError } from '../errors.js'
import { isHiddenName } from './compiler.js'

/** The suffix a staged YAML file gets: `data.yaml` is staged as `data.yaml.json` (no clash with a `data.json` beside it). */
const STAGED_JSON = '.json'
const isYamlName = (name: string): boolean => /\.ya?ml$/i.test(name)
const MAX_DEPTH = 64

/**
 * Mirrors the policy directory `from` into `to` as OPA would read it: hidden
 * entries are left out (OPA is told to ignore them too), YAML files are parsed
 * (YAML 1.2 core schema, as OPA reads them: `yes` stays a string; duplicate keys
 * and several documents in one file are errors) and written as JSON at the same
 * place, and every other file is copied byte for byte, so OPA loads the same
 * documents at the same data paths and the Rego source paths in policy.wasm stay
 * relative and unchanged. Symbolic links are followed (ConfigMap volumes).
 */
export async function stageJsonData (from: string, to: string, shownAs: string, depth = 0): Promise<void> {
  if (depth > MAX_DEPTH) throw new PolicyCompileError(`${shownAs}: directories nested deeper than ${MAX_DEPTH} levels (a symbolic link loop?)`)
  await mkdir(to, { recursive: true })
  for (const name of await readdir(from)) {
    if (isHiddenName(name)) continue
    const source = join(from, name)
    const info = await stat(source)
    if (info.isDirectory()) {
      await stageJsonData(source, join(to, name), join(shownAs, name), depth + 1)
    } else if (!info.isFile()) {
      continue
    } else if (isYamlName(name)) {
      await writeFile(join(to, name + STAGED_JSON), yamlToJson(await readFile(source, 'utf8'), join(shownAs, name)))
    } else {
      await copyFile(source, join(to, name))
    }
  }
}

function yamlToJson (text: string, shownAs: string): string {
  let value: unknown
  try {
    value = loadYaml(text, { schema: CORE_SCHEMA, filename: shownAs })
  } catch (err) {
    if (err instanceof YAMLException) {
      throw new PolicyCompileError(`${shownAs}:${(err.mark?.line ?? 0) + 1}: ${err.reason}`)
    }
    throw new PolicyCompileError(`${shownAs}: ${(err as Error).message}`)
  }
  // An empty file is no document: OPA reads it as nothing at that path.
  if (value === undefined) return '{}'
  // JSON has no .inf or .nan, and JSON.stringify would quietly write null: refuse, as OPA does.
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new PolicyCompileError(`${shownAs}: ${v} is not a JSON number`)
    return v
  })
}
