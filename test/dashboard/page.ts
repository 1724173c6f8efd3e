// What the dashboard's browser tests share: the bundle (built once, under a lock, when the sources
// are newer), a Helix with stream + orchestrator + dashboard listening on loopback, and Chromium.
import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser } from 'playwright-core'
import { projectRoot } from '../../core/paths.js'
import dashboardPlugin from '../../plugins/dashboard/index.js'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { freePort } from '../helpers/net.js'

type Test = { teardown(fn: () => unknown): void }

const WEB = path.join(projectRoot, 'plugins/dashboard/web')
const BUILD = path.join(projectRoot, 'plugins/dashboard/build.mjs')
const PAGE = path.join(projectRoot, 'plugins/dashboard/public/index.html')

function newest(dir: string): number {
  return Math.max(...readdirSync(dir).map((f) => statSync(path.join(dir, f)).mtimeMs))
}

/** Builds plugins/dashboard/public unless it is newer than every source; test files may race here. */
export function ensureBundle(): void {
  const script = `test -f "$1" && [ "$(stat -c %Y "$1")" -ge "$2" ] || "$3" plugins/dashboard/build.mjs`
  execFileSync('flock', ['/tmp/helix-dashboard-build.lock', 'sh', '-c', script, 'sh', PAGE, String(Math.ceil(Math.max(newest(WEB), statSync(BUILD).mtimeMs) / 1000)), process.execPath], {
    cwd: projectRoot,
    stdio: 'inherit'
  })
}

export interface Served {
  app: FastifyInstance
  url: string
  /** Its HELIX_REDIS_PREFIX, for other processes of the same deployment. */
  redisPrefix: string
}

/**
 * The monolith's three parts together on the production services (PostgreSQL, Redis bus), listening
 * where discovery says it is.
 */
export async function serveDashboard(t: Test, env: Record<string, string> = {}): Promise<Served> {
  ensureBundle()
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const prefix = redisPrefix(t, 'dash')
  const app = await build(t, {
    PORT: String(port),
    HELIX_PUBLIC_URL: url,
    DATABASE_URL: await createTestDatabase(t, 'dashboard'),
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: prefix,
    ...env
  }, { plugins: [streamPlugin, orchestratorPlugin, dashboardPlugin] })
  await app.listen({ port, host: '127.0.0.1' })
  return { app, url, redisPrefix: prefix }
}

export async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}
