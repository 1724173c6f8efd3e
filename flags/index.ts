// Builds the process's FlagSource from config: the bootstrap file and env overrides, Unleash when
// UNLEASH_URL is set, and the override layer (Redis when REDIS_URL is set, in-process otherwise).
import type { Logger } from 'pino'
import type { Config } from '../config/index.js'
import type { Bus } from '../core/bus/types.js'
import type { RedisFactory } from '../core/redis.js'
import { fromRoot } from '../core/paths.js'
import { BootstrapFlagSource, readBootstrapFile } from './bootstrap-source.js'
import { LayeredFlagSource } from './layered-source.js'
import { OverrideStore } from './override-store.js'

export * from './names.js'
export type * from './source.js'
export type { FlagReport } from './layered-source.js'
export { LayeredFlagSource }

export async function createFlags(config: Config, log: Logger, bus: Bus, redis: RedisFactory | null): Promise<LayeredFlagSource> {
  const features = readBootstrapFile(fromRoot(config.flagsBootstrap))
  const bootstrap = new BootstrapFlagSource(features, config.flagEnv)
  const role = config.roles.join(',')
  // unleash-client is loaded only where it is used: it is a tenth of a second of every boot.
  const unleash = config.unleash.url
    ? new (await import('./unleash-source.js')).UnleashFlagSource({
      url: config.unleash.url,
      apiToken: config.unleash.apiToken,
      refreshMs: config.unleash.refreshMs,
      appName: `helix-${config.roles.join('-')}`,
      instanceId: config.unleash.instanceId,
      role,
      bootstrap: features,
      metrics: config.nodeEnv !== 'test',
      log
    })
    : null
  return new LayeredFlagSource(bootstrap, unleash, new OverrideStore(bus, redis?.('flags') ?? null, config.redisPrefix, log))
}
