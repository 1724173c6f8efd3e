// Which Redis and PostgreSQL connections belong to which of our processes: the local ports each
// process holds towards the server (ss), matched with the server's own list of its clients (Redis
// CLIENT LIST, PostgreSQL pg_stat_activity), so other programs on the shared servers do not count.
import { execFileSync } from 'node:child_process'
import { Redis } from 'ioredis'
import pg from 'pg'

/** Local port -> pid, for this machine's TCP connections to `port`. */
function localPorts(port: number): Map<number, number> {
  const out = execFileSync('ss', ['-tnpH', `dport = :${port}`], { encoding: 'utf8' })
  const owners = new Map<number, number>()
  for (const line of out.split('\n')) {
    const m = /\S+\s+\d+\s+\d+\s+\S+:(\d+)\s+\S+\s+users:\(\("[^"]*",pid=(\d+)/.exec(line)
    if (m) owners.set(Number(m[1]), Number(m[2]))
  }
  return owners
}

/** Redis connections per pid, as Redis lists them (CLIENT LIST), with their names. */
export async function redisConnections(redis: Redis, redisPort: number, pids: readonly number[]): Promise<Map<number, { count: number; names: string[] }>> {
  const owners = localPorts(redisPort)
  const list = (await redis.call('CLIENT', 'LIST')) as string
  const result = new Map(pids.map((pid) => [pid, { count: 0, names: [] as string[] }]))
  for (const line of list.split('\n')) {
    const port = Number(/ addr=[^ ]*:(\d+) /.exec(` ${line}`)?.[1])
    const pid = owners.get(port)
    const entry = pid === undefined ? undefined : result.get(pid)
    if (!entry) continue
    entry.count++
    const name = /name=(\S*)/.exec(line)?.[1]
    if (name && !entry.names.includes(name)) entry.names.push(name)
  }
  return result
}

/** PostgreSQL connections to `database` per pid (pg_stat_activity, matched by client port). */
export async function postgresConnections(db: pg.Client, pgPort: number, database: string, pids: readonly number[]): Promise<Map<number, number>> {
  const owners = localPorts(pgPort)
  const { rows } = await db.query<{ client_port: number }>('SELECT client_port FROM pg_stat_activity WHERE datname = $1 AND client_port IS NOT NULL', [database])
  const result = new Map(pids.map((pid) => [pid, 0]))
  for (const row of rows) {
    const pid = owners.get(row.client_port)
    if (pid !== undefined && result.has(pid)) result.set(pid, result.get(pid)! + 1)
  }
  return result
}
