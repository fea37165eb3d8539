// Reads an OPA bundle (a gzipped tar of .manifest, policy.wasm, data.json) into
// memory. Only the files the WASM engine needs are kept; everything else in the
// archive is ignored, and sizes are bounded so a hostile bundle cannot exhaust memory.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Parser, type ReadEntry } from 'tar'
import { PolicyBundleError } from '../errors.js'

const MAX_FILE_BYTES = 64 * 1024 * 1024
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
}

export async function readBundle (archive: Buffer): Promise<PolicyBundle> {
  const files = new Map<string, Buffer>()
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const name = entry.path.replace(/^\/+/, '')
      if (entry.type !== 'File' || !BUNDLE_FILES.has(name)) {
        entry.resume()
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      entry.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size <= MAX_FILE_BYTES) chunks.push(chunk)
      })
      entry.on('end', () => {
        if (size > MAX_FILE_BYTES) parser.abort(new PolicyBundleError(`${name} is larger than ${MAX_FILE_BYTES} bytes`))
        else files.set(name, Buffer.concat(chunks))
      })
    }
  })
  try {
    await pipeline(Readable.from([archive]), parser)
  } catch (err) {
    throw err instanceof PolicyBundleError ? err : new PolicyBundleError(`not a readable tar.gz (${(err as Error).message})`)
  }
  return assembleBundle(files.get('policy.wasm'), files.get('data.json'), files.get('.manifest'))
}

export function assembleBundle (wasm: Buffer | undefined, dataJson: Buffer | undefined, manifestJson: Buffer | undefined): PolicyBundle {
  if (!wasm) throw new PolicyBundleError('it has no policy.wasm (build it with `opa build -t wasm`)')
  const manifest = parseJson<BundleManifest>(manifestJson, '.manifest') ?? {}
  const data = dataJson ?? Buffer.from('{}')
  parseJson(data, 'data.json')
  const digest = 'sha256:' + createHash('sha256').update(wasm).update(data).digest('hex')
  const revision = typeof manifest.revision === 'string' && manifest.revision !== ''
    ? manifest.revision
    : digest.slice('sha256:'.length, 'sha256:'.length + 12)
  return { wasm, dataJson: data, manifest, digest, revision }
}

function parseJson<T> (text: Buffer | undefined, name: string): T | undefined {
  if (!text) return undefined
  try {
    return JSON.parse(text.toString('utf8')) as T
  } catch (err) {
    throw new PolicyBundleError(`${name} is not valid JSON (${(err as Error).message})`)
  }
}
