// The JWT secret when HELIX_JWT_SECRET is unset: in development one is made at first boot and kept in
// $HELIX_DATA_DIR/jwt-secret (mode 0600), so restarts and `helix token` sign with the same one.
import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ConfigError, type Config } from '../config/index.js'

const FILE_NAME = 'jwt-secret'

/** Where the signing secret came from: the variable, the development file, or this boot only (tests). */
export type JwtSecretSource = { kind: 'env' } | { kind: 'file'; path: string; created: boolean } | { kind: 'boot' }

export function devSecretPath(dataDir: string): string {
  return path.resolve(dataDir, FILE_NAME)
}

/** The kept secret, or null when none was made yet. An unreadable or damaged file is a ConfigError. */
export function readDevSecret(dataDir: string): string | null {
  const file = devSecretPath(dataDir)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new ConfigError(`Cannot read the development secret ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; fix its permissions or set HELIX_JWT_SECRET`)
  }
  const secret = text.trim()
  if (secret.length < 32 || /\s/.test(secret)) {
    throw new ConfigError(`Invalid development secret ${file}: expected one line of at least 32 characters; delete the file to make a new one (tokens signed with the old one stop working) or set HELIX_JWT_SECRET`)
  }
  return secret
}

/**
 * The kept secret, made when there is none. The file is written aside and linked into place, so two
 * processes starting at once on one data dir agree on the secret and never read half a file.
 */
export function keepDevSecret(dataDir: string): { secret: string; path: string; created: boolean } {
  const file = devSecretPath(dataDir)
  const existing = readDevSecret(dataDir)
  if (existing) return { secret: existing, path: file, created: false }
  const secret = randomBytes(32).toString('base64url')
  const draft = `${file}.${process.pid}.tmp`
  try {
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(draft, `${secret}\n`, { mode: 0o600 })
    linkSync(draft, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { secret: readDevSecret(dataDir)!, path: file, created: false }
    throw new ConfigError(`Cannot keep the development secret in ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; make HELIX_DATA_DIR writable or set HELIX_JWT_SECRET`)
  } finally {
    try {
      unlinkSync(draft)
    } catch {
      // never written
    }
  }
  return { secret, path: file, created: true }
}

/**
 * The secrets tokens are signed with, the signing one first: HELIX_JWT_SECRET's (two while it rotates),
 * else the kept one in development, else one per boot (tests).
 */
export function jwtSecretsFor(config: Pick<Config, 'jwtSecrets' | 'nodeEnv' | 'dataDir'>): { secrets: readonly [string, ...string[]]; source: JwtSecretSource } {
  const [first, ...rest] = config.jwtSecrets
  if (first) return { secrets: [first, ...rest], source: { kind: 'env' } }
  if (config.nodeEnv === 'development') {
    const kept = keepDevSecret(config.dataDir)
    return { secrets: [kept.secret], source: { kind: 'file', path: kept.path, created: kept.created } }
  }
  return { secrets: [randomBytes(32).toString('base64url')], source: { kind: 'boot' } }
}
