#!/usr/bin/env node
// `verdict <command>`: one entry for the package's bin. Each command lives in its
// own module exporting `run(args): Promise<number>` (the exit code), loaded only
// when asked for, so `verdict build` does not pay for the server's imports.
//   0 success (for diff: nothing changed), 1 failure (for diff: something changed),
//   2 usage or operational error.
const COMMANDS: Record<string, { summary: string, load: () => Promise<{ run: (args: string[]) => Promise<number> }> }> = {
  serve: { summary: 'serve the decision API (config: VERDICT_CONFIG, default config/verdict.yaml)', load: async () => await import('./serve.js') },
  build: { summary: 'compile policies into a signed or unsigned OPA bundle', load: async () => await import('./build.js') },
  test: { summary: 'run the policy tests with coverage, then lint the Rego', load: async () => await import('./policy-test.js') },
  check: { summary: 'check the policies compile (opa check --strict, WASM build)', load: async () => await import('./check.js') },
  diff: { summary: 'what a policy change does: rights and job scope granted and revoked', load: async () => await import('./diff.js') },
  replay: { summary: 're-evaluate a decision log under a policy revision and list the flips', load: async () => await import('./replay.js') },
  'who-can': { summary: 'which accounts may do an action on an endpoint (or one record), and through which route', load: async () => await import('./who-can.js') },
  can: { summary: 'every endpoint × action an account holds, with its scope per company', load: async () => await import('./can.js') },
  explain: { summary: 'why a decision is what it is: each layer\'s evidence, from the policy itself', load: async () => await import('./explain.js') }
}

function usage (): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return `usage: verdict <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nverdict <command> --help for a command's options.\n`
}

export async function main (argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return name === undefined ? 2 : 0
  }
  const command = COMMANDS[name]
  if (!command) {
    process.stderr.write(`verdict: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  return await (await command.load()).run(args)
}

process.exitCode = await main(process.argv.slice(2))
