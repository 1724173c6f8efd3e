// Recognises the errors that mean a dependency is down (PostgreSQL or SQLite, Redis, another service)
// and the ones where the database refused a value, whatever driver or wrapper threw them, so the one
// error handler answers 503 unavailable or 400 for them instead of 500.
import { ConnectionError } from 'sequelize'

export type Dependency = 'database' | 'Redis' | 'service'

/** SQLSTATEs of a PostgreSQL connection refused or ended: class 08, shutdowns, no connection slot, no database. */
const PG_UNAVAILABLE = /^(08...|57P0[123]|53300|3D000)$/
/** 55000 is a general SQLSTATE; with this message it is a database closed to connections (ALLOW_CONNECTIONS false). */
const PG_CLOSED_DATABASE = /is not currently accepting connections/
/** SQLSTATE class 22: a value the database cannot take (bad syntax for its type, out of range, a NUL byte). */
const PG_DATA_EXCEPTION = /^22...$/
/** SQLite cannot be used: locked, not openable, out of space, read-only, or not a database at all. */
const SQLITE_UNAVAILABLE = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_NOTADB', 'SQLITE_CORRUPT'])
/** node-postgres reports a connection lost or never made with these messages and no code. */
const PG_CONNECTION_MESSAGES = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/
/** ioredis: no connection (offline queue off or retries spent), a timed-out command, a server not serving yet. */
const REDIS_MESSAGES = /^(Connection is closed|Stream isn't writeable|Command timed out|LOADING |READONLY |MASTERDOWN |TRYAGAIN |CLUSTERDOWN )/
/** Network failures of any client; which dependency it was is not known from the error. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'])

interface DriverError {
  name?: unknown
  code?: unknown
  message?: unknown
  severity?: unknown
  parent?: unknown
  original?: unknown
  cause?: unknown
}

/** The error and the ones it wraps (Sequelize's parent/original, `cause`), outermost first. */
function chain(err: unknown): DriverError[] {
  const seen: DriverError[] = []
  let next: unknown = err
  while (next !== null && typeof next === 'object' && seen.length < 5 && !seen.includes(next as DriverError)) {
    const current = next as DriverError
    seen.push(current)
    next = current.parent ?? current.original ?? current.cause
  }
  return seen
}

/** A PostgreSQL error carries a five-character SQLSTATE and a severity. */
const pgCode = (e: DriverError) => (typeof e.code === 'string' && typeof e.severity === 'string' && e.code.length === 5 ? e.code : null)

function dependencyOf(e: DriverError): Dependency | null {
  if (e instanceof ConnectionError) return 'database'
  const code = pgCode(e)
  if (code) return PG_UNAVAILABLE.test(code) || (code === '55000' && PG_CLOSED_DATABASE.test(String(e.message))) ? 'database' : null
  if (typeof e.code === 'string' && SQLITE_UNAVAILABLE.has(e.code)) return 'database'
  const message = typeof e.message === 'string' ? e.message : ''
  if (e.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.test(message)) return 'Redis'
  if (PG_CONNECTION_MESSAGES.test(message)) return 'database'
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return 'service'
  return null
}

/** Which dependency `err` says is down, or null when it says something else. */
export function unavailableDependency(err: unknown): Dependency | null {
  for (const e of chain(err)) {
    const dependency = dependencyOf(e)
    if (dependency) return dependency
  }
  return null
}

/** The driver's words for an error: its code and message, from whichever error in the chain has them. */
export function driverReason(err: unknown): string {
  const errs = chain(err)
  const code = errs.map((e) => e.code).find((c): c is string => typeof c === 'string')
  const message = errs.map((e) => e.message).find((m): m is string => typeof m === 'string' && m !== '') ?? String(err)
  return code && !message.includes(code) ? `${code}: ${message}` : message
}

/** True when the database refused a value of the request (SQLSTATE class 22) rather than failing. */
export function isRefusedValue(err: unknown): boolean {
  return chain(err).some((e) => PG_DATA_EXCEPTION.test(pgCode(e) ?? ''))
}
