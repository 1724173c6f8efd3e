// Runs the compiled `helix` CLI as a user would (`node dist/core/cli/helix.js ...`), with only the
// environment a test gives it, and collects its exit code and output.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { ensureBuilt, root } from '../helpers/process.js'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  env?: Record<string, string | undefined>
  /** The directory it runs in: the project root unless given. */
  cwd?: string
  /** The compiled CLI to run: the checkout's dist/ unless given (e.g. a copy of the production layout). */
  script?: string
}

export async function helix(args: string[], options: CliOptions = {}): Promise<CliResult> {
  await ensureBuilt()
  const script = options.script ?? path.join(root, 'dist/core/cli/helix.js')
  const env = Object.fromEntries(Object.entries({ PATH: process.env.PATH, ...options.env }).filter((e): e is [string, string] => e[1] !== undefined))
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd: options.cwd ?? root, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}
