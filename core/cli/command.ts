// The contract of a `helix` subcommand, and its option parsing: a mistake on the command line is a
// UsageError (exit code 2, one line), anything else that fails is a runtime failure (exit code 1).
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'

export interface Command {
  /** The text `helix <command> --help` prints. */
  help: string
  /** Does the work; throws a UsageError for a bad command line, any other error for a failure. */
  run(args: string[]): Promise<void>
}

export class UsageError extends Error {
  override name = 'UsageError'
}

/** `npm run token --sub alice` hands `alice` to the script and keeps `--sub` for npm itself. */
function npmAteTheOptions(): boolean {
  return process.env.npm_lifecycle_event !== undefined && process.env.npm_lifecycle_event !== 'npx'
}

/** Node's parseArgs messages are long and name their own API; say the same in the CLI's words. */
function usageErrorFrom(err: NodeJS.ErrnoException): UsageError {
  const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? ''
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${quoted}`)
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new UsageError(/does not take/.test(err.message) ? `${quoted} takes no value` : `${quoted.replace(/ <value>$/, '')} needs a value`)
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(npmAteTheOptions()
        ? `unexpected argument "${quoted}" (npm keeps the options that come before -- for itself: write npm run <script> -- <options>)`
        : `unexpected argument "${quoted}"`)
    default:
      return new UsageError(err.message)
  }
}

/** Parses `--name value` options strictly: unknown options and stray arguments are usage errors. */
export function parseOptions<const O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw usageErrorFrom(err as NodeJS.ErrnoException)
  }
}
