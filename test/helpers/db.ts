// A PostgreSQL database of the test file's own, created from DATABASE_URL and dropped afterwards,
// so parallel test files never collide.
import { randomBytes } from 'node:crypto'
import pg from 'pg'

type Test = { teardown(fn: () => unknown): void }

export const baseDatabaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export async function createTestDatabase(t: Test, label = 'helix'): Promise<string> {
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: baseDatabaseUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE "${name}"`)
  await admin.end()
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: baseDatabaseUrl })
    await client.connect()
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    await client.end()
  })
  const url = new URL(baseDatabaseUrl)
  url.pathname = `/${name}`
  return url.toString()
}
