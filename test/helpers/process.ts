// Runs Helix as a real child process, from the compiled dist/ the way the Docker image runs it, and
// waits for /health/ready, for tests that need several processes, signals or SIGKILL.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { projectRoot } from '../../core/paths.js'
import { CONTEXT_FRAME_FLAG } from '../../core/telemetry/index.js'
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
  /** Source of the script to run, relative to the project root: core/main.ts by default. Its compiled
   * dist/ twin is what runs. */
  entry?: string
  /** Another build of Helix to run (an older release, see release.ts); this checkout by default. */
  root?: string
  /** Wait for /health/ready (default) or only /health/live. */
  waitFor?: 'ready' | 'live' | 'none'
  timeoutMs?: number
}

/** An env value of undefined means "unset" (spawn would pass the string "undefined"). */
function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
}

let built: Promise<void> | undefined

/**
 * Compiles the sources, fixtures and benchmarks to dist/ once per test process (incremental, so
 * quick when nothing changed); a lock keeps parallel test files from compiling at the same time.
 */
export function ensureBuilt(): Promise<void> {
  built ??= new Promise((resolve) => {
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc')
    execFile('flock', [path.join(root, 'node_modules/.helix-build.lock'), process.execPath, tsc, '-p', 'tsconfig.bench.json'], { cwd: root }, (err, stdout) => {
      // Type errors still emit JavaScript; show them, and let the test judge the behaviour.
      if (err) console.error(`tsc reported problems:\n${stdout}`)
      resolve()
    })
  })
  return built
}

export async function startHelix(t: Test, options: StartOptions = {}): Promise<HelixProcess> {
  const home = options.root ?? root
  if (!options.root) await ensureBuilt()
  const port = options.env?.PORT ? Number(options.env.PORT) : await freePort()
  const url = `http://127.0.0.1:${port}`
  let out = ''
  const script = path.join(home, 'dist', (options.entry ?? 'core/main.ts').replace(/\.ts$/, '.js'))
  // Started as the image starts it (Dockerfile CMD).
  const child = spawn(process.execPath, [CONTEXT_FRAME_FLAG, script], {
    cwd: home,
    env: withoutUndefined({
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HELIX_JWT_SECRET: TEST_SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      HELIX_PUBLIC_URL: url,
      ...options.env
    }),
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

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`; resolves once it has exited. */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
