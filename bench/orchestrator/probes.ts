// What the orchestrator benchmark reads about processes from /proc (Linux): CPU time and resident
// memory of a server process, and the CPU time of the PostgreSQL backends serving one database.
import { readFileSync } from 'node:fs'
import type pg from 'pg'

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS = 100

/** User + system CPU seconds of a process, 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which may hold spaces: state is the 3rd field, utime the 14th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS
  } catch {
    return 0
  }
}

/** Resident set size of a process in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 1024)
}

/**
 * CPU seconds spent by the PostgreSQL backends connected to `database` while it runs: polled every
 * 200 ms, so a backend that exits loses at most its last 200 ms. Shared processes (WAL writer,
 * checkpointer) are left out: other work on the same server would show in them.
 */
export class BackendCpu {
  private readonly first = new Map<number, number>()
  private readonly last = new Map<number, number>()
  private timer: NodeJS.Timeout | undefined
  private polling: Promise<void> = Promise.resolve()

  constructor(
    private readonly monitor: pg.Client,
    private readonly database: string
  ) {}

  async start(): Promise<void> {
    await this.poll(true)
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.poll(false))
    }, 200)
  }

  /** Stops polling; returns the CPU seconds used since start(). */
  async stop(): Promise<number> {
    clearInterval(this.timer)
    await this.polling
    await this.poll(false)
    let total = 0
    for (const [pid, cpu] of this.last) total += cpu - (this.first.get(pid) ?? 0)
    return total
  }

  private async poll(initial: boolean): Promise<void> {
    const { rows } = await this.monitor.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [this.database])
    for (const { pid } of rows) {
      const cpu = cpuSeconds(pid)
      if (cpu === 0) continue
      if (initial) this.first.set(pid, cpu)
      this.last.set(pid, cpu)
    }
  }
}

/** Commits in `database` so far (pg_stat_database; its counters lag by up to one stats flush). */
export async function commits(monitor: pg.Client, database: string): Promise<number> {
  await monitor.query('SELECT pg_stat_clear_snapshot()')
  const { rows } = await monitor.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [database])
  return Number(rows[0]?.n ?? 0)
}
