// Builds the process's FlagSource from config: the bootstrap file and env overrides, Unleash when
// UNLEASH_URL is set, and the override layer (Redis when REDIS_URL is set, in-process otherwise).
import type { Logger } from 'pino'
import type { Config } from '../config/index.js'
import type { Bus } from '../core/bus/types.js'
import { fromRoot } from '../core/paths.js'
import { BootstrapFlagSource, readBootstrapFile } from './bootstrap-source.js'
import { LayeredFlagSource } from './layered-source.js'
import { OverrideStore, overrideRedis } from './override-store.js'
import { UnleashFlagSource } from './unleash-source.js'

export * from './names.js'
export type * from './source.js'
export type { FlagReport } from './layered-source.js'
export { LayeredFlagSource }

export function createFlags(config: Config, log: Logger, bus: Bus): LayeredFlagSource {
  const features = readBootstrapFile(fromRoot(config.flagsBootstrap))
  const bootstrap = new BootstrapFlagSource(features, config.flagEnv)
  const role = config.roles.join(',')
  const unleash = config.unleash.url
    ? new UnleashFlagSource({
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
  const redis = config.redisUrl ? overrideRedis(config.redisUrl, log) : null
  return new LayeredFlagSource(bootstrap, unleash, new OverrideStore(bus, redis, config.redisPrefix, log))
}
