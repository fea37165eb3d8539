// Option parsing shared by every `verdict` command: node:util parseArgs, with the
// conventions of src/cli/verdict.ts — bad usage prints the message and the
// command's usage to stderr (exit 2), --help prints the usage (exit 0).
import { parseArgs, type ParseArgsConfig } from 'node:util'

/** The parsed arguments, or the exit code when the command should stop here. */
export function parseCommandArgs<T extends ParseArgsConfig> (command: string, usage: string, config: T): ReturnType<typeof parseArgs<T>> | number {
  let parsed: ReturnType<typeof parseArgs<T>>
  try {
    parsed = parseArgs(config)
  } catch (err) {
    return usageError(command, (err as Error).message, usage)
  }
  if ((parsed.values as { help?: unknown }).help === true) {
    process.stdout.write(usage)
    return 0
  }
  return parsed
}

/** Prints a usage error for `verdict <command>` and returns its exit code, 2. */
export function usageError (command: string, message: string, usage: string): number {
  process.stderr.write(`verdict ${command}: ${message}\n\n${usage}`)
  return 2
}
