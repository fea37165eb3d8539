// `verdict build`: compile the policies into an OPA bundle (.manifest,
// policy.wasm, data.json), signed the way `opa build --signing-key` signs when a
// key is given. The logic is src/toolchain/bundle-writer.ts; this is the command line.
import { parseCommandArgs } from './args.js'
import { readFile, rename, writeFile } from 'node:fs/promises'
import type { SignatureAlgorithm } from '../lifecycle/config.js'
import { buildBundle, type BuildBundleOptions } from '../toolchain/bundle-writer.js'
import { checkKeyFits, privateKeyFromPem } from '../bundle/jws.js'

const SIGNING_ALGS: readonly SignatureAlgorithm[] = ['RS256', 'ES256']
const DEFAULT_KEY_ID = 'default' // what `opa build` names its signing key

const USAGE = `usage: verdict build [options]

Compiles the policies into an OPA bundle: .manifest, policy.wasm, data.json
(and .signatures.json when signed).

options:
  --policies <dir>       policy directory (default: policies)
  -o, --output <file>    bundle file to write (default: bundle.tar.gz)
  --entrypoint <path>    WASM entrypoint (default: verdict/decision)
  --revision <text>      manifest revision (default: the git commit of the policy
                         directory, "<commit>-dirty-<digest>" with uncommitted
                         changes, or the content digest outside git)
  --signing-key <pem>    sign with this private key (PEM: PKCS#8, PKCS#1 or SEC1)
  --signing-alg <alg>    RS256 (default) or ES256
  --signing-key-id <id>  key id in the signature (default: ${DEFAULT_KEY_ID}, as opa build)
  -h, --help             this text
`

export async function run (args: string[]): Promise<number> {
  const parsed = parseCommandArgs('build', USAGE, {
    args,
    allowPositionals: false,
    options: {
      policies: { type: 'string', default: 'policies' },
      output: { type: 'string', short: 'o', default: 'bundle.tar.gz' },
      entrypoint: { type: 'string', default: 'verdict/decision' },
      revision: { type: 'string' },
      'signing-key': { type: 'string' },
      'signing-alg': { type: 'string' },
      'signing-key-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (typeof parsed === 'number') return parsed
  const { values } = parsed
  const alg = values['signing-alg'] ?? 'RS256'
  if (!(SIGNING_ALGS as readonly string[]).includes(alg)) {
    process.stderr.write(`verdict build: --signing-alg must be one of ${SIGNING_ALGS.join(', ')}, not ${JSON.stringify(alg)}\n`)
    return 2
  }
  if (values['signing-key'] === undefined && (values['signing-alg'] !== undefined || values['signing-key-id'] !== undefined)) {
    process.stderr.write('verdict build: --signing-alg and --signing-key-id need --signing-key\n')
    return 2
  }

  const options: BuildBundleOptions = { dir: values.policies, entrypoint: values.entrypoint }
  if (values.revision !== undefined) options.revision = values.revision
  if (values['signing-key'] !== undefined) {
    try {
      const key = privateKeyFromPem(await readFile(values['signing-key']))
      checkKeyFits(key, alg as SignatureAlgorithm)
      options.signing = { key, alg: alg as SignatureAlgorithm, keyId: values['signing-key-id'] ?? DEFAULT_KEY_ID }
    } catch (err) {
      process.stderr.write(`verdict build: signing key ${values['signing-key']}: ${(err as Error).message}\n`)
      return 2
    }
  }

  let built
  try {
    built = await buildBundle(options)
  } catch (err) {
    process.stderr.write(`verdict build: ${(err as Error).message}\n`)
    return 1
  }
  // Written beside the target and renamed: a reader never sees half a bundle.
  const partial = `${values.output}.partial`
  await writeFile(partial, built.archive)
  await rename(partial, values.output)
  const signed = options.signing ? `signed ${options.signing.alg}, key id ${options.signing.keyId ?? '-'}` : 'unsigned'
  process.stdout.write(`wrote ${values.output}: revision ${built.revision}, digest ${built.digest}, roots ${JSON.stringify(built.manifest.roots)}, ${signed}\n`)
  return 0
}
