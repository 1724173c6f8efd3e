// REST Hooks subscriptions (DESIGN section 11): an API key's target URL for one event, with the
// `whsec_` secret that signs its deliveries. Subscribing again to the same target and event returns
// the same subscription; unsubscribing is idempotent. The live ones are cached per event for the fan-out.
import { randomBytes, randomUUID } from 'node:crypto'
import type { Sql } from './sql.js'

export interface Subscription {
  id: string
  apiKeyId: string
  targetUrl: string
  event: string
  secret: string
  status: 'active' | 'disabled' | 'deleted'
  failingSince: number | null
}

interface SubscriptionRow {
  id: string
  api_key_id: string
  target_url: string
  event: string
  secret: string
  status: Subscription['status']
  failing_since: number | string | null
}

const toSubscription = (r: SubscriptionRow): Subscription => ({
  id: r.id,
  apiKeyId: r.api_key_id,
  targetUrl: r.target_url,
  event: r.event,
  secret: r.secret,
  status: r.status,
  failingSince: r.failing_since === null ? null : Number(r.failing_since)
})

const COLUMNS = 'id, api_key_id, target_url, event, secret, status, failing_since'

/** How long the per-event cache of live subscriptions is trusted (other replicas' changes). */
const CACHE_MS = 5000

export class SubscriptionStore {
  private cache: { at: number; byEvent: Map<string, Subscription[]> } | null = null

  constructor(private readonly sql: Sql) {}

  /** The subscription for this key, target and event: made now, or the existing one (active again if it was disabled). */
  async subscribe(apiKeyId: string, targetUrl: string, event: string): Promise<{ subscription: Subscription; created: boolean }> {
    const secret = `whsec_${randomBytes(24).toString('base64')}`
    const inserted = await this.sql.rows<SubscriptionRow>(
      `INSERT INTO zapier_subscriptions (id, api_key_id, target_url, event, secret, status, created_at) VALUES ($1, $2, $3, $4, $5, 'active', $6)
       ON CONFLICT (api_key_id, target_url, event) WHERE deleted_at IS NULL DO NOTHING RETURNING ${COLUMNS}`,
      [randomUUID(), apiKeyId, targetUrl, event, secret, Date.now()]
    )
    this.cache = null
    if (inserted[0]) return { subscription: toSubscription(inserted[0]), created: true }
    const existing = await this.sql.one<SubscriptionRow>(
      `UPDATE zapier_subscriptions SET status = 'active', failing_since = NULL WHERE api_key_id = $1 AND target_url = $2 AND event = $3 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      [apiKeyId, targetUrl, event]
    )
    if (!existing) throw new Error('the subscription was deleted while it was being made again; retry')
    return { subscription: toSubscription(existing), created: false }
  }

  /** Deletes a key's subscription; a missing or already deleted one is fine (REST Hooks unsubscribe is retried). */
  async unsubscribe(apiKeyId: string, id: string): Promise<void> {
    await this.sql.run(`UPDATE zapier_subscriptions SET status = 'deleted', deleted_at = $3 WHERE id = $1 AND api_key_id = $2 AND deleted_at IS NULL`, [id, apiKeyId, Date.now()])
    this.cache = null
  }

  /** A target answered 410 Gone: the subscription is deleted, whoever made it. */
  async deleteGone(id: string): Promise<void> {
    await this.sql.run(`UPDATE zapier_subscriptions SET status = 'deleted', deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`, [id, Date.now()])
    this.cache = null
  }

  async get(id: string): Promise<Subscription | null> {
    const row = await this.sql.one<SubscriptionRow>(`SELECT ${COLUMNS} FROM zapier_subscriptions WHERE id = $1`, [id])
    return row ? toSubscription(row) : null
  }

  /** A live subscription from the fan-out's cache (another replica's delete is seen within 5 s), else from the table. */
  async current(id: string, now: number): Promise<Subscription | null> {
    if (this.cache && now - this.cache.at <= CACHE_MS) {
      for (const list of this.cache.byEvent.values()) {
        const found = list.find((s) => s.id === id)
        if (found) return found
      }
    }
    return this.get(id)
  }

  async countFor(apiKeyId: string): Promise<number> {
    const row = await this.sql.one<{ n: number | string }>(`SELECT COUNT(*) AS n FROM zapier_subscriptions WHERE api_key_id = $1 AND status = 'active'`, [apiKeyId])
    return Number(row?.n ?? 0)
  }

  /** Live subscriptions to `event`, from a short-lived cache (the fan-out asks on every bus event). */
  async activeFor(event: string, now: number): Promise<Subscription[]> {
    if (!this.cache || now - this.cache.at > CACHE_MS) {
      const rows = await this.sql.rows<SubscriptionRow>(`SELECT ${COLUMNS} FROM zapier_subscriptions WHERE status = 'active'`)
      const byEvent = new Map<string, Subscription[]>()
      for (const sub of rows.map(toSubscription)) byEvent.set(sub.event, [...(byEvent.get(sub.event) ?? []), sub])
      this.cache = { at: now, byEvent }
    }
    return this.cache.byEvent.get(event) ?? []
  }

  /** A delivery succeeded: the target is healthy again. */
  async markHealthy(id: string): Promise<void> {
    await this.sql.run(`UPDATE zapier_subscriptions SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, [id])
  }

  /** A delivery failed: returns since when the target has been failing. */
  async markFailing(id: string, now: number): Promise<number> {
    const row = await this.sql.one<{ failing_since: number | string }>(
      `UPDATE zapier_subscriptions SET failing_since = COALESCE(failing_since, $2) WHERE id = $1 RETURNING failing_since`,
      [id, now]
    )
    return Number(row?.failing_since ?? now)
  }

  async disable(id: string): Promise<void> {
    await this.sql.run(`UPDATE zapier_subscriptions SET status = 'disabled' WHERE id = $1 AND status = 'active'`, [id])
    this.cache = null
  }
}
