// Redis for tests: the shared server under a key prefix of the test's own, or a private
// redis-server on a free port that a test may stop, flush and restart at will.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { freePort } from './net.js'

type Test = { teardown(fn: () => unknown): void }

export const sharedRedisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A unique HELIX_REDIS_PREFIX; its keys are deleted when the test ends. */
export function redisPrefix(t: Test, label = 't'): string {
  const prefix = `test:${label}:${randomBytes(4).toString('hex')}:`
  t.teardown(async () => {
    const redis = new Redis(sharedRedisUrl)
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })
  return prefix
}

export interface PrivateRedis {
  url: string
  port: number
  start(): Promise<void>
  stop(): Promise<void>
}

/** Starts a redis-server of the test's own (no persistence) and stops it at teardown. */
export async function privateRedis(t: Test): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | null = null
  const server: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      const probe = new Redis(port, '127.0.0.1', { retryStrategy: () => 50, maxRetriesPerRequest: null, lazyConnect: false })
      probe.on('error', () => {})
      await probe.ping()
      probe.disconnect()
    },
    async stop() {
      const c = child
      child = null
      if (!c || c.exitCode !== null) return
      await new Promise((resolve) => {
        c.once('exit', resolve)
        c.kill('SIGKILL')
      })
    }
  }
  await server.start()
  t.teardown(() => server.stop())
  return server
}
