// Reads an OPA bundle (a gzipped tar of .manifest, policy.wasm, data.json) into
// memory. Sizes and counts are bounded so a hostile bundle cannot exhaust memory.
// Without a verification key only the files the WASM engine needs are kept and
// everything else in the archive is ignored (a .signatures.json included: nothing
// is verified). With a key, every file is kept and the bundle is refused unless
// its signature covers exactly the files it holds (bundle-signature.ts).
import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setImmediate as turn } from 'node:timers/promises'
import { Parser, type ReadEntry } from 'tar'
import { PolicyBundleError, PolicyBundleRefusedError } from '../errors.js'
import { SIGNATURES_FILE, verifyBundle, type BundleVerification } from './signatures.js'

const MAX_FILE_BYTES = 64 * 1024 * 1024
const MAX_TOTAL_BYTES = 256 * 1024 * 1024
const MAX_FILES = 10_000
// Compressed bytes unpacked per turn of the event loop (about 0.5 MB of text):
// a large archive unpacked in one piece would pause answering while a new policy is read.
const SLICE_BYTES = 64 * 1024
// What the WASM engine reads of a bundle; Rego sources and anything else are skipped.
const BUNDLE_FILES = new Set(['.manifest', 'data.json', 'policy.wasm'])

export interface BundleManifest {
  revision?: string
  roots?: string[]
  wasm?: Array<{ entrypoint: string, module: string }>
  [key: string]: unknown
}

export interface PolicyBundle {
  wasm: Buffer
  /** data.json text as shipped: handed to the WASM instance without re-encoding. */
  dataJson: Buffer
  manifest: BundleManifest
  /** sha256 over policy.wasm and data.json: what was evaluated, whatever the revision says. */
  digest: string
  revision: string
  /** Whether the archive carried a .signatures.json, and whether it was verified with the configured key. */
  signed: boolean
  verified: boolean
}

export interface ReadBundleOptions {
  /** Refuse the bundle unless it is signed with this key. */
  verification?: BundleVerification
}

export async function readBundle (archive: Buffer, options: ReadBundleOptions = {}): Promise<PolicyBundle> {
  const verification = options.verification
  const files = await readBundleFiles(archive, verification ? () => true : (name) => BUNDLE_FILES.has(name) || name === SIGNATURES_FILE)
  if (verification) {
    try {
      verifyBundle(files, verification)
    } catch (err) {
      throw new PolicyBundleRefusedError((err as Error).message)
    }
  }
  const bundle = assembleBundle(files.get('policy.wasm'), files.get('data.json'), files.get('.manifest'))
  bundle.signed = files.has(SIGNATURES_FILE)
  bundle.verified = verification !== undefined
  return bundle
}

/**
 * The regular files of a bundle archive by their path inside it (leading "/" and
 * "./" dropped, as OPA names them), keeping those `keep` selects. A path that
 * occurs twice is refused: which copy counts would be ambiguous.
 */
export async function readBundleFiles (archive: Buffer, keep: (name: string) => boolean = () => true): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  let count = 0
  let total = 0
  const parser = new Parser({
    // Garbage is an error, not an empty archive.
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const name = posix.join('/', entry.path).slice(1)
      if (entry.type !== 'File' || !keep(name)) {
        entry.resume()
        return
      }
      if (++count > MAX_FILES) {
        parser.abort(new PolicyBundleError(`it has more than ${MAX_FILES} files`))
        return
      }
      if (files.has(name)) {
        parser.abort(new PolicyBundleError(`it holds ${name} twice`))
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      entry.on('data', (chunk: Buffer) => {
        size += chunk.length
        total += chunk.length
        if (size <= MAX_FILE_BYTES && total <= MAX_TOTAL_BYTES) chunks.push(chunk)
      })
      entry.on('end', () => {
        if (size > MAX_FILE_BYTES) parser.abort(new PolicyBundleError(`${name} is larger than ${MAX_FILE_BYTES} bytes`))
        else if (total > MAX_TOTAL_BYTES) parser.abort(new PolicyBundleError(`its files add up to more than ${MAX_TOTAL_BYTES} bytes`))
        else files.set(name, Buffer.concat(chunks))
      })
    }
  })
  try {
    await pipeline(Readable.from(slices(archive)), parser)
  } catch (err) {
    throw err instanceof PolicyBundleError ? err : new PolicyBundleError(`not a readable tar.gz (${(err as Error).message})`)
  }
  return files
}

async function * slices (archive: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < archive.length; at += SLICE_BYTES) {
    if (at > 0) await turn()
    yield archive.subarray(at, at + SLICE_BYTES)
  }
}

export function assembleBundle (wasm: Buffer | undefined, dataJson: Buffer | undefined, manifestJson: Buffer | undefined): PolicyBundle {
  if (!wasm) throw new PolicyBundleError('it has no policy.wasm (build it with `opa build -t wasm`)')
  const manifest = parseJson<BundleManifest>(manifestJson, '.manifest') ?? {}
  // data.json is not parsed here: a large one would pause answering while a
  // new policy is read. Loading it (src/engine/policy.ts, in the evaluator's
  // thread) refuses text that is not JSON.
  const data = dataJson ?? Buffer.from('{}')
  const digest = 'sha256:' + createHash('sha256').update(wasm).update(data).digest('hex')
  const revision = typeof manifest.revision === 'string' && manifest.revision !== ''
    ? manifest.revision
    : digest.slice('sha256:'.length, 'sha256:'.length + 12)
  return { wasm, dataJson: data, manifest, digest, revision, signed: false, verified: false }
}

function parseJson<T> (text: Buffer | undefined, name: string): T | undefined {
  if (!text) return undefined
  try {
    return JSON.parse(text.toString('utf8')) as T
  } catch (err) {
    throw new PolicyBundleError(`${name} is not valid JSON (${(err as Error).message})`)
  }
}
