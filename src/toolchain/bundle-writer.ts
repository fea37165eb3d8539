// `verdict build`: an OPA-format bundle of the policies, the way `opa build -t
// wasm` lays it out — .manifest, policy.wasm and data.json (plus .signatures.json
// when signed) — so OPA and Verdict read the same file. The revision is the git
// commit of the policy directory (revision.ts), else the content digest; the
// roots are the top-level names the bundle owns (its data and its entrypoints),
// so it can sit beside other bundles in an OPA.
import { createPublicKey } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { Header } from 'tar'
import { readBundle, type BundleManifest } from '../bundle/bundle.js'
import { signBundle, SIGNATURES_FILE, type SigningOptions } from '../bundle/signatures.js'
import { compilePolicies } from './compiler.js'
import { loadDecisionPolicy } from '../engine/policy.js'
import { gitRevision } from '../lifecycle/revision.js'

export interface BuildBundleOptions {
  dir: string
  entrypoint: string
  /** Overrides the git / digest revision. */
  revision?: string
  signing?: SigningOptions
}

export interface BuiltBundle {
  archive: Buffer
  manifest: BundleManifest
  revision: string
  digest: string
  files: string[]
}

export async function buildBundle (options: BuildBundleOptions): Promise<BuiltBundle> {
  const compiled = await compilePolicies({ dir: options.dir, entrypoint: options.entrypoint })
  const revision = options.revision ?? await gitRevision(options.dir, compiled.digest) ?? compiled.digest
  const manifest: BundleManifest = { ...compiled.manifest, revision, roots: bundleRoots(compiled.dataJson, compiled.manifest) }

  const files = new Map<string, Buffer>([
    ['data.json', compiled.dataJson],
    ['policy.wasm', compiled.wasm],
    ['.manifest', Buffer.from(JSON.stringify(manifest))]
  ])
  if (options.signing) files.set(SIGNATURES_FILE, signBundle(files, options.signing))
  const archive = tarGz(files)

  // Read back the way the engine will: a bundle that would not load (or whose
  // signature would not verify) is never written.
  const check = await readBundle(archive, options.signing
    ? { verification: { key: createPublicKey(options.signing.key), alg: options.signing.alg } }
    : {})
  await loadDecisionPolicy(check, options.entrypoint)
  return { archive, manifest, revision, digest: check.digest, files: [...files.keys()] }
}

/** The top-level data names and entrypoint packages: what this bundle owns in OPA's data tree. */
export function bundleRoots (dataJson: Buffer, manifest: BundleManifest): string[] {
  const data = JSON.parse(dataJson.toString('utf8')) as unknown
  const roots = new Set<string>(data !== null && typeof data === 'object' && !Array.isArray(data) ? Object.keys(data) : [])
  for (const w of manifest.wasm ?? []) {
    const top = w.entrypoint.replace(/^\/+/, '').split('/')[0]
    if (top) roots.add(top)
  }
  return [...roots].sort()
}

const BLOCK = 512

/**
 * A gzipped ustar archive of the files, with paths starting with "/" as `opa
 * build` writes them, and fixed owner, mode and time so the same input gives the
 * same bytes.
 */
export function tarGz (files: ReadonlyMap<string, Buffer>): Buffer {
  const blocks: Buffer[] = []
  for (const [name, content] of files) {
    const header = Buffer.alloc(BLOCK)
    new Header({ path: `/${name}`, mode: 0o644, size: content.length, mtime: new Date(0), type: 'File', uid: 0, gid: 0, uname: '', gname: '' }).encode(header, 0)
    blocks.push(header, content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK))
  }
  blocks.push(Buffer.alloc(2 * BLOCK))
  return gzipSync(Buffer.concat(blocks))
}
