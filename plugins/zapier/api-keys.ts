// API keys for Zapier (DESIGN section 11): random keys shown once, stored as their SHA-256 hash,
// created and revoked by admins (`/admin/apikeys`, `helix apikey`), sent as `X-API-Key`.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Sql } from './sql.js'

export interface ApiKey {
  id: string
  name: string
  prefix: string
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
}

interface KeyRow {
  id: string
  name: string
  prefix: string
  created_at: number | string
  last_used_at: number | string | null
  revoked_at: number | string | null
}

const iso = (ms: number | string | null) => (ms === null ? null : new Date(Number(ms)).toISOString())
const toKey = (r: KeyRow): ApiKey => ({ id: r.id, name: r.name, prefix: r.prefix, createdAt: iso(r.created_at)!, lastUsedAt: iso(r.last_used_at), revokedAt: iso(r.revoked_at) })
/** 256 random bits: a hash without salt is enough, no one guesses such a key from its hash. */
const hashOf = (key: string) => createHash('sha256').update(key).digest('hex')

/** Last-used times are written at most this often per key, not on every request. */
const TOUCH_EVERY_MS = 60_000

export class ApiKeyStore {
  private readonly touched = new Map<string, number>()

  constructor(private readonly sql: Sql) {}

  async create(name: string): Promise<{ id: string; key: string; name: string }> {
    const id = randomUUID()
    const key = `hzk_${randomBytes(32).toString('base64url')}`
    await this.sql.run(`INSERT INTO zapier_api_keys (id, name, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)`, [id, name, hashOf(key), key.slice(0, 12), Date.now()])
    return { id, key, name }
  }

  async list(): Promise<ApiKey[]> {
    const rows = await this.sql.rows<KeyRow>(`SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM zapier_api_keys ORDER BY created_at, id`)
    return rows.map(toKey)
  }

  /** Revokes a key; false when there is no such key. Revoking twice is fine. */
  async revoke(id: string): Promise<boolean> {
    const rows = await this.sql.rows(`UPDATE zapier_api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING id`, [id, Date.now()])
    return rows.length > 0
  }

  /** The live key a request presents, or null. */
  async verify(key: string): Promise<ApiKey | null> {
    if (!key.startsWith('hzk_') || key.length > 100) return null
    const row = await this.sql.one<KeyRow>(`SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM zapier_api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [hashOf(key)])
    if (!row) return null
    const now = Date.now()
    if ((this.touched.get(row.id) ?? 0) < now - TOUCH_EVERY_MS) {
      this.touched.set(row.id, now)
      await this.sql.run(`UPDATE zapier_api_keys SET last_used_at = $2 WHERE id = $1`, [row.id, now])
    }
    return toKey(row)
  }
}
