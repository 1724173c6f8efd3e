// Builds the process's FlagSource from config.
import type { Logger } from 'pino'
import type { Config } from '../config/index.js'
import { fromRoot } from '../core/paths.js'
import { BootstrapFlagSource, readBootstrapFile } from './bootstrap-source.js'
import type { FlagSource } from './source.js'

export * from './names.js'
export type * from './source.js'

export function createFlags(config: Config, _log: Logger): FlagSource {
  return new BootstrapFlagSource(readBootstrapFile(fromRoot(config.flagsBootstrap)), config.flagEnv)
}
