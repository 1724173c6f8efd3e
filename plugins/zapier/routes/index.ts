// The Zapier plugin's HTTP API (DESIGN section 11), one route file per resource.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ApiKeyStore } from '../api-keys.js'
import type { DeliveryStore } from '../delivery-store.js'
import type { EventStore } from '../event-store.js'
import type { RecentItems } from '../fanout.js'
import type { SubscriptionStore } from '../subscription-store.js'
import type { TargetPolicy } from '../target-policy.js'
import { apiKeyRoutes } from './api-keys.js'
import { zapierAuth } from './auth.js'
import { deliveryRoutes } from './deliveries.js'
import { eventRoutes } from './events.js'
import { hookRoutes, type HookRouteOptions } from './hooks.js'
import { subscriptionRoutes } from './subscriptions.js'

export interface ZapierRouteDeps extends HookRouteOptions {
  store: EventStore
  keys: ApiKeyStore
  subscriptions: SubscriptionStore
  deliveries: DeliveryStore
  policy: TargetPolicy
  recent: RecentItems
  /** Wakes the local delivery sender, when this process runs it. */
  deliveriesQueued(): void
}

export function zapierRoutes(deps: ZapierRouteDeps): FastifyPluginAsyncTypebox {
  return async function routes(app) {
    const auth = zapierAuth(app, deps.keys)
    await app.register(hookRoutes, deps)
    await app.register(eventRoutes, { store: deps.store, inbox: deps.inbox, clock: deps.clock, auth })
    await app.register(apiKeyRoutes, { keys: deps.keys, auth })
    await app.register(subscriptionRoutes, { subscriptions: deps.subscriptions, policy: deps.policy, recent: deps.recent, auth })
    await app.register(deliveryRoutes, { deliveries: deps.deliveries, clock: deps.clock, auth, queued: deps.deliveriesQueued })
  }
}
