// Before a process builds the app: PostgreSQL and Redis, when configured, answer within a short
// bounded wait (they may be starting next to us). Each failure is a StartupError of one line saying
// what is missing and how to fix it, instead of a driver's stack trace seconds later.
import pg from 'pg'
import { pino } from 'pino'
import type { Config } from '../config/index.js'
import { StartupError } from './errors.js'
import { createRedisFactory } from './redis.js'

/** The probe's failures are reported in its one line, not logged. */
const quiet = pino({ level: 'silent' })

/** How long boot waits for a dependency to answer. */
const WAIT_MS = 3000
const RETRY_MS = 200

/** A URL as it may be shown: without its password. */
export function shownUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable URL)'
  }
}

const reasonOf = (err: unknown) => {
  const e = err as { code?: string; message?: string }
  return e.code && !/^\d/.test(e.code) ? e.code : (e.message ?? String(err))
}

/** Worth waiting for: nothing listens yet, or PostgreSQL is still starting. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P03'])

async function checkDatabase(url: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  const shown = shownUrl(url)
  const { hostname, port, pathname, username } = new URL(url)
  const name = decodeURIComponent(pathname.slice(1))
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: Math.max(100, deadline - Date.now()) })
    client.on('error', () => undefined)
    try {
      await client.connect()
      await client.query('SELECT 1')
      return
    } catch (err) {
      const code = (err as { code?: string }).code ?? ''
      if (code === '3D000') throw new StartupError(`The database "${name}" does not exist on ${hostname}:${port || 5432}: create it (createdb ${name}) or fix DATABASE_URL=${shown}`)
      if (code === '28P01' || code === '28000') throw new StartupError(`PostgreSQL at ${hostname}:${port || 5432} refused user "${decodeURIComponent(username)}" (${(err as Error).message}): fix the credentials in DATABASE_URL`)
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new StartupError(`Cannot resolve the host of DATABASE_URL=${shown} (${code}): fix the host name`)
      if (!TRANSIENT.has(code) || Date.now() + RETRY_MS >= deadline) {
        throw new StartupError(`Cannot reach PostgreSQL at DATABASE_URL=${shown} (${reasonOf(err)}) within ${WAIT_MS / 1000} s: start PostgreSQL there or point DATABASE_URL at a running server`)
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    } finally {
      await client.end().catch(() => undefined)
    }
  }
}

async function checkRedis(url: string): Promise<void> {
  let last: unknown = null
  // Commands wait in the offline queue while it reconnects: a PING answers as soon as Redis does.
  const redis = createRedisFactory(url, quiet)('preflight', { connectTimeout: WAIT_MS, maxRetriesPerRequest: null, retryStrategy: () => RETRY_MS })
  redis.on('error', (err) => (last = err))
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, WAIT_MS, 'timeout')))
  try {
    const answer = await Promise.race([redis.ping(), timedOut])
    if (answer === 'timeout') {
      throw new StartupError(`Cannot reach Redis at REDIS_URL=${shownUrl(url)} (${last ? reasonOf(last) : 'no answer'}) within ${WAIT_MS / 1000} s: start Redis there or point REDIS_URL at a running server`)
    }
  } catch (err) {
    if (err instanceof StartupError) throw err
    throw new StartupError(`Redis at REDIS_URL=${shownUrl(url)} refused the connection (${(err as Error).message}): fix REDIS_URL (password, database number)`)
  } finally {
    clearTimeout(timer)
    redis.disconnect()
  }
}

/** Resolves when every configured dependency answers; rejects with a one-line StartupError otherwise. */
export async function preflight(config: Pick<Config, 'databaseUrl' | 'redisUrl'>): Promise<void> {
  await Promise.all([
    config.databaseUrl ? checkDatabase(config.databaseUrl) : undefined,
    config.redisUrl ? checkRedis(config.redisUrl) : undefined
  ])
}
