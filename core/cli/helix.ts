#!/usr/bin/env node
// `helix`, the command line of a checkout (`npx helix ...`) and of the production image (`helix ...`):
// runs on the compiled code, loads only the command asked for. Exit codes: 0 ok, 1 failed, 2 usage.
import module from 'node:module'
import { UsageError, type Command } from './command.js'

// Loading modules is most of a short command's time; V8's on-disk cache halves it after the first run.
module.enableCompileCache?.()

const COMMANDS: Record<string, { summary: string; load(): Promise<Command> }> = {
  token: { summary: 'mint an access token (JWT) for a subject and its scopes, and print it', load: async () => (await import('./token.js')).tokenCommand },
  migrate: { summary: 'apply the database migrations of the plugins HELIX_ROLE loads, then exit', load: async () => (await import('./migrate.js')).migrateCommand },
  env: { summary: 'print every environment variable: the README table, or an .env.example', load: async () => (await import('./env.js')).envCommand },
  'bot:register': { summary: 'register the Discord bot\'s slash commands (in DISCORD_GUILD_ID, else globally)', load: async () => (await import('./bot-register.js')).botRegisterCommand },
  apikey: { summary: 'create, list or revoke the API keys Zapier sends (X-API-Key)', load: async () => (await import('./apikey.js')).apikeyCommand }
}

const USAGE = `Usage: helix <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`).join('\n')}

helix <command> --help (or helix help <command>) shows a command's options.
In a checkout, run it as npx helix (after npm run build) or npm run helix -- <command>.
`

const OK = 0
const FAILED = 1
const USAGE_ERROR = 2

/** A failure is one line on stderr; the stack only when asked for with LOG_LEVEL=debug or trace. */
function describe(err: unknown): string {
  const error = err instanceof Error ? err : new Error(String(err))
  if (process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace') return error.stack ?? error.message
  return error.message.split('\n')[0]
}

async function main([name, ...args]: string[]): Promise<number> {
  if (name === '--help' || name === '-h' || (name === 'help' && args.length === 0)) {
    process.stdout.write(USAGE)
    return OK
  }
  if (name === undefined) {
    process.stderr.write(USAGE)
    return USAGE_ERROR
  }
  const helpFor = name === 'help' ? args[0] : undefined
  const entry = COMMANDS[helpFor ?? name]
  if (!entry) {
    console.error(`helix: unknown command "${helpFor ?? name}"; the commands are ${Object.keys(COMMANDS).join(', ')} (helix --help)`)
    return USAGE_ERROR
  }
  const label = `helix ${helpFor ?? name}`
  try {
    const command = await entry.load()
    if (helpFor || args.includes('--help') || args.includes('-h')) {
      process.stdout.write(command.help)
      return OK
    }
    await command.run(args)
    return OK
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${label}: ${err.message} (${label} --help)`)
      return USAGE_ERROR
    }
    console.error(`${label}: ${describe(err)}`)
    return FAILED
  }
}

// Exit at once: a command that failed half-way may hold a connection open. Writes to stdout and
// stderr are synchronous for files, pipes and terminals on Linux, so nothing printed is lost.
process.exit(await main(process.argv.slice(2)))
