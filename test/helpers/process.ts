// Runs Helix as a real child process (the TypeScript sources, through tap's loader) and waits for
// /health/ready, for tests that need several processes, signals or SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { projectRoot } from '../../core/paths.js'
import { TEST_SECRET } from './build.js'
import { freePort } from './net.js'

type Test = { teardown(fn: () => unknown): void }

export interface HelixProcess {
  url: string
  port: number
  child: ChildProcess
  /** Everything the process wrote, for assertions and for debugging a failure. */
  output(): string
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export const root = projectRoot

export interface StartOptions {
  env?: Record<string, string | undefined>
  /** Script to run, relative to the project root: core/main.ts by default. */
  entry?: string
  /** Node arguments; default: the test's own (tap's TypeScript loader). */
  execArgv?: string[]
  /** Wait for /health/ready (default) or only /health/live. */
  waitFor?: 'ready' | 'live' | 'none'
  timeoutMs?: number
}

export async function startHelix(t: Test, options: StartOptions = {}): Promise<HelixProcess> {
  const port = options.env?.PORT ? Number(options.env.PORT) : await freePort()
  const url = `http://127.0.0.1:${port}`
  let out = ''
  const child = spawn(process.execPath, [...(options.execArgv ?? process.execArgv), path.join(root, options.entry ?? 'core/main.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HELIX_JWT_SECRET: TEST_SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      HELIX_PUBLIC_URL: url,
      ...options.env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })))
  const proc: HelixProcess = {
    url,
    port,
    child,
    output: () => out,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
  t.teardown(() => proc.kill('SIGKILL'))
  const waitFor = options.waitFor ?? 'ready'
  if (waitFor === 'none') return proc
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  let done = false
  exited.then(() => (done = true))
  while (!done && Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health/${waitFor}`)
      if (res.ok) return proc
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`helix on ${url} did not become ${waitFor}:\n${out}`)
}
