// Development credentials, made on this machine at `npm start` and never committed:
// a random pepper and random Basic secrets for the example service accounts that
// authenticate with HTTP Basic. The secrets file holds only HMAC hashes; each
// plaintext secret is written to its own file (mode 0600) for curl examples, and
// nothing secret is printed. Production secrets are provisioned by the operator.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { hashSecret } from '../authn/secrets.js'

export const DEV_DIR = '.dev'
export const DEV_BASIC_ACCOUNTS = ['ACME||SVC_PAYROLL', 'ACME||SVC_HRWRITER', 'ACME||SVC_LEGACY_FTP']

/** File name of an account's dev secret: `ACME||SVC_PAYROLL` → `SVC_PAYROLL.secret`. */
export function secretFileName (account: string): string {
  return `${account.split('||').pop() ?? account}.secret`
}

export async function writeDevSecrets (dir: string, accounts: string[]): Promise<void> {
  await mkdir(join(dir, 'credentials'), { recursive: true, mode: 0o700 })
  const pepper = randomBytes(32).toString('base64url')
  const records: Record<string, unknown> = {}
  for (const account of accounts) {
    const secret = randomBytes(24).toString('base64url')
    records[account] = await hashSecret(secret, 'hmac-sha256', pepper)
    await writeFile(join(dir, 'credentials', secretFileName(account)), secret + '\n', { mode: 0o600 })
  }
  await writeFile(join(dir, 'pepper'), pepper + '\n', { mode: 0o600 })
  await writeFile(join(dir, 'secrets.yaml'), '# Development Basic secrets (HMAC-SHA-256 with .dev/pepper). Generated; not for production.\n' +
    stringify(records), { mode: 0o600 })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (existsSync(join(DEV_DIR, 'secrets.yaml'))) {
    console.log(`dev-secrets: ${DEV_DIR}/secrets.yaml exists; keeping it`)
  } else {
    await writeDevSecrets(DEV_DIR, DEV_BASIC_ACCOUNTS)
    console.log(`dev-secrets: wrote ${DEV_DIR}/secrets.yaml, ${DEV_DIR}/pepper and ${DEV_DIR}/credentials/*.secret for ${DEV_BASIC_ACCOUNTS.join(', ')}`)
  }
}
