// The one build() every test uses: a real app on the real services, closed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createSigner } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import { loadConfig, type Config } from '../../config/index.js'
import { buildApp, type AppDeps } from '../../core/app.js'
import type { Scope } from '../../core/auth/index.js'
import type { PluginDescriptor } from '../../core/plugin.js'

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef'

type Test = { teardown(fn: () => unknown): void }

/** A fresh data dir per test, removed afterwards. */
export function tempDir(t: Test, prefix = 'helix-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Config from a test's env on top of quiet test defaults (embedded bus and SQLite unless given),
 * loaded with the test's manifest as the composition root loads it with the real one.
 */
export function testConfig(t: Test, env: Record<string, string | undefined> = {}, plugins: readonly PluginDescriptor[] = []): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HELIX_JWT_SECRET: TEST_SECRET,
    HELIX_DATA_DIR: tempDir(t),
    ...env
  }, plugins)
}

export async function build(t: Test, env: Record<string, string | undefined> = {}, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = await buildApp(testConfig(t, env, deps.plugins), deps)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/** A bearer token for `app`'s secret. */
export function tokenFor(app: FastifyInstance, scopes: readonly (Scope | string)[], ttlSeconds = 3600, sub = 'tester'): string {
  return app.auth.sign({ sub, scopes, ttlSeconds })
}

export function bearer(app: FastifyInstance, scopes: readonly (Scope | string)[]): { authorization: string } {
  return { authorization: `Bearer ${tokenFor(app, scopes)}` }
}

/** A bearer token for any process running with TEST_SECRET (child processes, other releases). */
export function signTestToken(scopes: readonly (Scope | string)[], ttlSeconds = 3600, sub = 'tester'): string {
  return createSigner({ key: TEST_SECRET })({ sub, scope: scopes.join(' '), exp: Math.floor(Date.now() / 1000) + ttlSeconds })
}
