// Makes a PEP API key for the AuthZEN doors: a random key written to its own
// file (mode 0600) for the PEP, and its HMAC-SHA-256 hash (with the Basic pepper)
// added to the key file Verdict reads (`authzen.apiKeysFile`). Nothing secret is
// printed.
//
//   node dist/authzen/keygen.js <name> [keys-file] [pepper-file]
//     defaults: .dev/authzen-keys.yaml, .dev/pepper (the development pepper `npm start` makes)
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { parse, stringify } from 'yaml'
import { hashApiKey } from './pep.js'

export async function makeApiKey (name: string, keysFile: string, pepperFile: string): Promise<{ keyFile: string }> {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(name)) throw new Error('a key name is 1 to 128 of A-Z a-z 0-9 _ . -')
  const pepper = (await readFile(pepperFile, 'utf8')).replace(/\r?\n$/, '')
  const existing = existsSync(keysFile) ? (parse(await readFile(keysFile, 'utf8')) ?? {}) as Record<string, unknown> : {}
  const key = `vk_${randomBytes(32).toString('base64url')}`
  existing[name] = { scheme: 'hmac-sha256', hash: hashApiKey(key, Buffer.from(pepper, 'utf8')) }
  await mkdir(dirname(keysFile), { recursive: true })
  await writeFile(keysFile, '# AuthZEN PEP API keys (HMAC-SHA-256 with the Basic pepper). Generated.\n' + stringify(existing), { mode: 0o600 })
  const keyFile = join(dirname(keysFile), 'credentials', `authzen-${name}.key`)
  await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 })
  await writeFile(keyFile, key + '\n', { mode: 0o600 })
  return { keyFile }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [name, keysFile = '.dev/authzen-keys.yaml', pepperFile = '.dev/pepper'] = process.argv.slice(2)
  if (name === undefined) {
    process.stderr.write('usage: node dist/authzen/keygen.js <name> [keys-file] [pepper-file]\n')
    process.exit(2)
  }
  try {
    const { keyFile } = await makeApiKey(name, keysFile, pepperFile)
    process.stdout.write(`keygen: added ${name} to ${keysFile}; the key is in ${keyFile}\n`)
  } catch (err) {
    process.stderr.write(`keygen: ${(err as Error).message}\n`)
    process.exit(1)
  }
}
