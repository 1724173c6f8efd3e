// The embedded default (no DATABASE_URL, no REDIS_URL) with HELIX_DATA_DIR on a 2 MB tmpfs that fills
// up: writes get a clear coded error (507 or 503, never a 500 or a hang), nothing accepted is lost, and
// once space is freed the same process serves writes again within FREED_WITHIN_MS, without a restart.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, rmSync, statfsSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { authHeaders, commandLoad, outputOnFailure, startKept, summarise } from '../helpers/fault-load.js'
import { ensureBuilt } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

t.setTimeout(180_000)
// Compiling dist/ first (minutes on a loaded machine when sources changed) is not part of any bound.
await ensureBuilt()

const FREED_WITHIN_MS = 10_000
const ANSWER_WITHIN_MS = 5000

/** Mounts a 2 MB tmpfs, or says why it cannot (not root, no CAP_SYS_ADMIN in this container). */
function smallTmpfs(t: { teardown(fn: () => unknown): void }): { dir: string } | { reason: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'helix-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    return { reason: `cannot mount a tmpfs here: ${((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim()}` }
  }
  t.teardown(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' })
    rmSync(dir, { recursive: true, force: true })
  })
  return { dir }
}

/** Writes zeros into `file` until the file system has no block left. */
function fillUp(file: string): number {
  const fd = openSync(file, 'w')
  const chunk = Buffer.alloc(4096)
  let written = 0
  try {
    for (;;) written += writeSync(fd, chunk)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    closeSync(fd)
  }
  return written
}

const mounted = smallTmpfs(t)

t.test(`SQLite disk full: coded refusals, nothing accepted lost, writes again within ${FREED_WITHIN_MS / 1000} s of freeing space`, { skip: 'reason' in mounted ? mounted.reason : false }, async (t) => {
  const dataDir = (mounted as { dir: string }).dir
  const helix = await startKept(t, outputOnFailure(t), 'embedded', { env: { HELIX_DATA_DIR: dataDir, REDIS_URL: undefined, DATABASE_URL: undefined, LOG_LEVEL: 'warn', HELIX_RATE_WRITE: '10000000' }, timeoutMs: 60_000 })
  const commands = commandLoad(() => helix.url, { lanes: 2 }).start()
  await waitFor(() => commands.accepted.length >= 20, 'commands accepted while there is space', 20_000)

  const filler = path.join(dataDir, 'filler')
  const filled = fillUp(filler)
  t.comment(`filled the tmpfs with ${filled} bytes; ${statfsSync(dataDir).bavail} blocks left`)
  const refusedBefore = commands.refused.length
  await waitFor(() => commands.refused.length >= refusedBefore + 10, 'writes refused while the disk is full', 30_000)
  const acceptedWhileFull = commands.accepted.length

  rmSync(filler)
  const freedAt = Date.now()
  await waitFor(() => commands.accepted.length > acceptedWhileFull + 5, 'writes accepted again after freeing space', FREED_WITHIN_MS)
  t.ok(Date.now() - freedAt <= FREED_WITHIN_MS, `writes accepted again ${Date.now() - freedAt} ms after space was freed (bound ${FREED_WITHIN_MS} ms)`)
  await commands.stop()

  const refused = commands.refused
  t.comment(`accepted ${commands.accepted.length} commands; refused: ${summarise(refused)}`)
  t.ok(refused.length > 0, 'the full disk was seen by clients')
  t.same(refused.filter((r) => r.status !== 507 && r.status !== 503), [], 'every refusal is a 507 or a 503 (no 500, no dropped connection, no hang)')
  t.same(refused.filter((r) => !r.error || r.error === 'internal_error'), [], 'every refusal carries a code')
  t.ok(Math.max(...refused.map((r) => r.ms)) <= ANSWER_WITHIN_MS, `refusals answered within ${ANSWER_WITHIN_MS} ms`)

  const statuses = new Map<string, string>()
  await waitFor(async () => {
    for (const id of commands.accepted) {
      if (['succeeded', 'failed'].includes(statuses.get(id) ?? '')) continue
      const res = await fetch(`${helix.url}/api/commands/${id}`, { headers: authHeaders })
      statuses.set(id, res.ok ? ((await res.json()) as { status: string }).status : `http ${res.status}`)
    }
    return [...statuses.values()].every((s) => s === 'succeeded' || s === 'failed')
  }, 'every accepted command to finish', 30_000).catch(() => {})
  const counts: Record<string, number> = {}
  for (const s of statuses.values()) counts[s] = (counts[s] ?? 0) + 1
  t.same(counts, { succeeded: commands.accepted.length }, 'every accepted command is stored and succeeded')
  t.equal(helix.child.exitCode, null, 'the process lived through it')
  t.notMatch(helix.output(), /"statusCode":500|internal_error/, 'no 500 in the log')
})
