#!/usr/bin/env node
// `npm start` (prestart): compiles the TypeScript only when dist/ is not a build
// of the current sources. The inputs (every file under src/, the tsconfig files,
// package.json) are listed with size and modification time; the list of the
// last build is kept in dist/.build-inputs. The same list means dist/ is up to
// date and nothing runs; any difference — a file edited, added or removed — runs
// `tsc -p tsconfig.build.json`, which also removes the list first, so a failed
// build is never taken for a good one.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const stampFile = join(repo, 'dist', '.build-inputs')

function files (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? files(p) : [p]
  })
}

function inputs () {
  const list = [...files(join(repo, 'src')), ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => join(repo, f))]
  return list.sort().map((f) => {
    const s = statSync(f)
    return `${relative(repo, f)} ${s.size} ${s.mtimeMs}`
  }).join('\n') + '\n'
}

const current = inputs()
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === current) {
  console.log('build: dist/ is up to date')
  process.exit(0)
}
rmSync(stampFile, { force: true })
console.log('build: compiling TypeScript (tsc -p tsconfig.build.json)')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const r = spawnSync(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json')], { stdio: 'inherit', cwd: repo })
if (r.status !== 0) process.exit(r.status ?? 1)
writeFileSync(stampFile, current)
