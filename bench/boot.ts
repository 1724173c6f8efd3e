// `npm run bench:boot`: time from process start to the first 200 from /health/ready, running
// dist/core/main.js as the Docker image does: the embedded default, then with Redis + PostgreSQL.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { projectRoot } from '../core/paths.js'
import { createTestDatabase } from '../test/helpers/db.js'
import { freePort } from '../test/helpers/net.js'
import { printTable } from './table.js'

const RUNS = 7
const teardowns: (() => unknown)[] = []
const scope = { teardown: (fn: () => unknown) => teardowns.push(fn) }

async function bootOnce(env: Record<string, string>, dataDir: string): Promise<number> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist/core/main.js')], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), HELIX_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: 'ignore'
  })
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`helix exited with ${child.exitCode}`)
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`)
        if (res.status === 200) return performance.now() - started
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
}

/** The first boot migrates and seeds an empty database; the restarts after it find them done. */
async function series(env: Record<string, string>): Promise<{ first: number; restarts: number[] }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'helix-boot-'))
  try {
    const first = await bootOnce(env, dataDir)
    const restarts: number[] = []
    for (let i = 0; i < RUNS; i++) restarts.push(await bootOnce(env, dataDir))
    return { first, restarts: restarts.sort((a, b) => a - b) }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const rows: (string | number)[][] = []
const fmt = (ms: number) => (ms / 1000).toFixed(3)
const setups: [string, () => Promise<Record<string, string>>][] = [
  ['embedded (in-process bus, SQLite)', async () => ({})],
  ['Redis + PostgreSQL', async () => ({
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    HELIX_REDIS_PREFIX: `bench-boot-${process.pid}:`,
    DATABASE_URL: await createTestDatabase(scope, 'bench_boot')
  })]
]
try {
  for (const [name, env] of setups) {
    const { first, restarts } = await series(await env())
    rows.push([name, fmt(first), fmt(restarts[0]), fmt(restarts[Math.floor(restarts.length / 2)]), fmt(restarts[restarts.length - 1])])
  }
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
printTable(`Boot: process start to /health/ready 200, seconds (a first boot on an empty database, then ${RUNS} restarts)`, ['setup', 'first boot', 'restart min', 'restart median', 'restart max'], rows)
console.log('Target: embedded default under 1.5 s.')
