// Sends outbound REST Hooks deliveries (DESIGN section 11), in the owning replicas and only while
// `helix.zapier.outbound` is on: Standard Webhooks signatures, a 15 s timeout, redirects never followed,
// retries on a schedule (Retry-After honoured), `410` deletes the subscription, a target failing for
// five days is disabled, and every attempt is recorded.
import { request, type Dispatcher } from 'undici'
import { ClaimingWorker, type PeriodicJob } from '../../core/workers/claiming-worker.js'
import type { Clock } from '../../core/clock.js'
import type { FlagSource } from '../../flags/source.js'
import type { Logger } from 'pino'
import type { Delivery, DeliveryStore } from './delivery-store.js'
import { DISABLE_AFTER_MS, nextDelay, parseRetryAfter, type TargetRateLimit } from './retry-schedule.js'
import { signStandard } from './signatures.js'
import type { SubscriptionStore } from './subscription-store.js'
import type { ZapierSignals } from './zapier-events.js'

export const DELIVERY_TIMEOUT_MS = 15_000

export interface DeliveryWorkerDeps {
  deliveries: DeliveryStore
  subscriptions: SubscriptionStore
  dispatcher: Dispatcher
  limit: TargetRateLimit
  flags: FlagSource
  signals: ZapierSignals
  log: Logger
  clock: Clock
  owner: string
  concurrency: number
  pollMs: number
  /** How long one attempt may take (15 s). */
  timeoutMs: number
  random?: () => number
}

type Outcome = { ok: true; status: number } | { ok: false; status: number | null; error: string; retryAfterMs: number | null; gone: boolean }

export class DeliveryWorker extends ClaimingWorker<Delivery> {
  readonly name = 'zapier-deliveries'

  constructor(private readonly deps: DeliveryWorkerDeps) {
    super({ log: deps.log, concurrency: deps.concurrency, clock: deps.clock })
  }

  protected async claim(free: number): Promise<Delivery[]> {
    if (!this.deps.flags.isEnabled('helix.zapier.outbound')) return []
    // The lease outlasts one attempt (its timeout) with room to record it.
    return this.deps.deliveries.claim(this.deps.owner, free, this.clock.now(), this.deps.timeoutMs * 2)
  }

  protected idOf(delivery: Delivery): string {
    return delivery.id
  }

  protected periodic(): PeriodicJob[] {
    return [{ everyMs: this.deps.pollMs, run: () => this.kick() }]
  }

  protected async execute(delivery: Delivery): Promise<null> {
    const { deliveries, subscriptions, limit, signals, clock } = this.deps
    const subscription = await subscriptions.current(delivery.subscriptionId, clock.now())
    if (!subscription || subscription.status !== 'active') {
      await deliveries.failed(delivery.id, delivery.attempts, null, `subscription ${subscription?.status ?? 'deleted'}`, clock.now())
      return null
    }
    const target = new URL(subscription.targetUrl)
    const wait = limit.take(target.host, clock.now())
    if (wait > 0) {
      await deliveries.postpone(delivery.id, clock.now() + wait)
      return null
    }
    const attempt = delivery.attempts + 1
    const startedAt = clock.now()
    const started = performance.now()
    const outcome = await this.send(subscription.targetUrl, subscription.secret, delivery, Math.floor(startedAt / 1000))
    const durationMs = Math.round(performance.now() - started)
    const now = clock.now()
    await deliveries.recordAttempt(delivery.id, { attempt, at: startedAt, statusCode: outcome.status, error: outcome.ok ? null : outcome.error, durationMs })
    signals.deliveryLatency.observe({ outcome: outcome.ok ? 'delivered' : 'failed' }, durationMs / 1000)

    if (outcome.ok) {
      await deliveries.delivered(delivery.id, attempt, outcome.status, now)
      if (subscription.failingSince !== null) await subscriptions.markHealthy(subscription.id)
      signals.deliveries.inc({ outcome: 'delivered' })
      signals.publish('zapier.delivered', { id: delivery.id, subscriptionId: subscription.id, event: delivery.event, attempt, status: outcome.status })
      return null
    }
    if (outcome.gone) {
      await subscriptions.deleteGone(subscription.id)
      await deliveries.failed(delivery.id, attempt, outcome.status, 'the target answered 410 Gone: subscription deleted', now)
      await deliveries.failPendingOf(subscription.id, 'subscription deleted (410 Gone)', now)
      signals.deliveries.inc({ outcome: 'gone' })
      return null
    }
    const failingSince = await subscriptions.markFailing(subscription.id, now)
    if (now - failingSince >= DISABLE_AFTER_MS) {
      await subscriptions.disable(subscription.id)
      await deliveries.failed(delivery.id, attempt, outcome.status, `${outcome.error}; the target has failed for 5 days: subscription disabled`, now)
      await deliveries.failPendingOf(subscription.id, 'subscription disabled after failing for 5 days', now)
      signals.deliveries.inc({ outcome: 'disabled' })
      return null
    }
    const delay = nextDelay(attempt, outcome.retryAfterMs, this.deps.random)
    if (delay === null) {
      await deliveries.failed(delivery.id, attempt, outcome.status, `${outcome.error}; no retry left`, now)
      signals.deliveries.inc({ outcome: 'failed' })
    } else {
      await deliveries.retryAt(delivery.id, attempt, outcome.status, outcome.error, now + delay)
      signals.deliveries.inc({ outcome: 'retry' })
    }
    return null
  }

  private async send(targetUrl: string, secret: string, delivery: Delivery, timestamp: number): Promise<Outcome> {
    const id = `msg_${delivery.id}`
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
    try {
      const res = await request(targetUrl, {
        method: 'POST',
        body: delivery.payload,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Helix-Webhooks/1',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signStandard(key, id, timestamp, delivery.payload)
        },
        dispatcher: this.deps.dispatcher,
        signal: AbortSignal.timeout(this.deps.timeoutMs)
      })
      await res.body.dump()
      const status = res.statusCode
      if (status >= 200 && status < 300) return { ok: true, status }
      const retryAfterMs = parseRetryAfter(res.headers['retry-after'], this.clock.now())
      const error = status >= 300 && status < 400 ? `the target answered ${status} (redirects are not followed)` : `the target answered ${status}`
      return { ok: false, status, error, retryAfterMs, gone: status === 410 }
    } catch (err) {
      const e = err as Error & { code?: string; cause?: Error & { code?: string } }
      const cause = e.cause?.code === 'ERR_TARGET_REFUSED' ? e.cause : e
      const error = e.name === 'TimeoutError' ? `no answer within ${this.deps.timeoutMs / 1000} s` : cause.message || String(err)
      return { ok: false, status: null, error, retryAfterMs: null, gone: false }
    }
  }
}
