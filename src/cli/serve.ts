// `verdict serve`: the decision API, started exactly as `npm start` starts it
// (src/server.ts): the configuration file, workers, graceful shutdown. The
// process keeps running after run() returns; SIGTERM or SIGINT stops it.
import { parseCommandArgs } from './args.js'
import { loadConfig, type Config } from '../config.js'
import { startServer } from '../server.js'

const USAGE = `usage: verdict serve [--config <file>]

Serves the decision API until SIGTERM or SIGINT.

options:
  -c, --config <file>  configuration file (default: $VERDICT_CONFIG, else config/verdict.yaml);
                       the environment overrides of docs/CONFIGURATION.md still apply
  -h, --help           this text
`

export async function run (args: string[]): Promise<number> {
  const parsed = parseCommandArgs('serve', USAGE, {
    args,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false
  })
  if (typeof parsed === 'number') return parsed
  const { values } = parsed
  const env = values.config !== undefined ? { ...process.env, VERDICT_CONFIG: values.config } : process.env
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    process.stderr.write(`verdict serve: ${(err as Error).message}\n`)
    return 2
  }
  // Workers re-run this command with the same arguments, so they read the same file.
  await startServer(config)
  return 0
}
