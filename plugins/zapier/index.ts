// The Zapier plugin (DESIGN section 11): signed inbound webhooks stored before the 202 and run by a
// pipeline over a Redis Stream; REST Hooks out to Zapier with signed, retried deliveries.
import { ownershipFlag } from '../../flags/names.js'
import { definePlugin, type PluginDescriptor } from '../../core/plugin.js'
import { ownerId } from '../../core/workers/claiming-worker.js'
import { ApiKeyStore } from './api-keys.js'
import { DeliveryStore } from './delivery-store.js'
import { DELIVERY_TIMEOUT_MS, DeliveryWorker } from './delivery-worker.js'
import { EventStore } from './event-store.js'
import { OutboundFanout, RecentItems } from './fanout.js'
import { createHandlers } from './handlers.js'
import { Inbox } from './inbox.js'
import { migrations } from './migrations.js'
import { checkEvictionPolicy } from './redis-policy.js'
import { defaultPipelineOptions, InboundPipeline, type PipelineOptions } from './pipeline.js'
import { TargetRateLimit } from './retry-schedule.js'
import { zapierRoutes } from './routes/index.js'
import { zapierSettings } from './settings.js'
import { loadSources } from './sources.js'
import { Sql } from './sql.js'
import { SubscriptionStore } from './subscription-store.js'
import { TargetPolicy } from './target-policy.js'
import { MemoryWorkQueue, RedisWorkQueue, type WorkQueue } from './work-queue.js'
import { ZapierSignals } from './zapier-events.js'

export interface ZapierOptions {
  pipeline?: Partial<PipelineOptions>
  /** How often the delivery sender looks for due deliveries besides being woken. */
  deliveryPollMs?: number
  /** Deliveries per second to one target host. */
  targetRate?: number
  /** How long one delivery attempt may take. */
  deliveryTimeoutMs?: number
  /** Jitter source of the retry schedule (tests pin it). */
  random?: () => number
}

export function createZapierPlugin(options: ZapierOptions = {}): PluginDescriptor {
  return definePlugin({
    name: 'zapier',
    title: 'Zapier (`plugins/zapier`)',
    roles: ['zapier'],
    ownershipFlag: ownershipFlag('zapier'),
    // The stream's consumer group and the deliveries' row leases share the work between replicas.
    sharedWorkers: true,
    needsDatabase: true,
    settings: zapierSettings,
    migrations,
    async create(kernel, _app, settings) {
      const { bus, clock, config } = kernel
      const log = kernel.log.child({ plugin: 'zapier' })
      const sources = loadSources(settings)
      if (sources.size === 0) log.info('no Zapier webhook sources configured (ZAPIER_SOURCES): every hook answers 404')
      const sql = new Sql(kernel.db.sequelize, config.databaseUrl, log)
      const signals = new ZapierSignals(bus, kernel.metrics, log)
      signals.measureQueues(sql)
      const store = new EventStore(sql)
      let queue: WorkQueue
      // Auto-pipelining: the pushes of concurrent requests share round trips.
      const redis = kernel.redis?.('zapier', { enableAutoPipelining: true })
      if (redis && kernel.redis) {
        queue = new RedisWorkQueue(redis, kernel.redis('zapier-reader'), config.redisPrefix, log)
        void checkEvictionPolicy(redis, log)
      } else {
        queue = new MemoryWorkQueue(() => clock.now())
      }
      const inbox = new Inbox(store, queue, signals, clock, log)
      const consumer = ownerId()
      const pipeline = new InboundPipeline({
        queue,
        store,
        inbox,
        handlers: createHandlers({ clients: kernel.clients, bus }),
        signals,
        clock,
        log,
        consumer,
        options: { ...defaultPipelineOptions, leaseMs: settings.ZAPIER_LEASE_MS, reclaimIdleMs: settings.ZAPIER_LEASE_MS, ...options.pipeline }
      })

      const keys = new ApiKeyStore(sql)
      const subscriptions = new SubscriptionStore(sql)
      const deliveries = new DeliveryStore(sql)
      const policy = TargetPolicy.fromSetting(settings.HELIX_OUTBOUND_ALLOW)
      const timeoutMs = options.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS
      const dispatcher = policy.dispatcher({ timeoutMs })
      const sender = new DeliveryWorker({
        deliveries,
        subscriptions,
        dispatcher,
        limit: new TargetRateLimit(options.targetRate ?? 20),
        flags: kernel.flags,
        signals,
        log,
        clock,
        owner: consumer,
        concurrency: 64,
        pollMs: options.deliveryPollMs ?? 1000,
        timeoutMs,
        random: options.random
      })
      const recent = new RecentItems()
      const fanout = new OutboundFanout({ bus, subscriptions, deliveries, recent, clock, log, queued: () => sender.kick() })
      // Held deliveries go out as soon as the kill switch is turned back on.
      const stopFlagWatch = kernel.flags.onChange((changed) => {
        if (changed.includes('helix.zapier.outbound')) sender.kick()
      })

      return {
        routes: zapierRoutes({
          sources,
          inbox,
          signals,
          clock,
          maxBytes: settings.HELIX_WEBHOOK_MAX_BYTES,
          rateLimit: kernel.rateLimits.webhook,
          store,
          keys,
          subscriptions,
          deliveries,
          policy,
          recent,
          deliveriesQueued: () => sender.kick()
        }),
        workers: [pipeline, fanout, sender],
        async close() {
          stopFlagWatch()
          await queue.close()
          redis?.disconnect()
          await dispatcher.close()
          await sql.close()
        }
      }
    }
  })
}

export const zapierPlugin = createZapierPlugin()
