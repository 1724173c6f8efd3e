// `npm run token -- --sub alice --scope "agents:read stream:read" --ttl 1h`: mints an access token
// with HELIX_JWT_SECRET and prints it.
import { parseArgs } from 'node:util'
import { createSigner } from 'fast-jwt'
import { SCOPES, parseTtl } from '../auth/index.js'

function fail(message: string): never {
  console.error(`token: ${message}`)
  process.exit(2)
}

const { values } = parseArgs({
  options: { sub: { type: 'string' }, scope: { type: 'string', default: '' }, ttl: { type: 'string', default: '1h' } },
  strict: true
})
const secret = process.env.HELIX_JWT_SECRET
if (!secret || secret.length < 32) fail('HELIX_JWT_SECRET (at least 32 characters) must be set to the secret the server uses')
if (!values.sub) fail('--sub is required, e.g. --sub alice')
const scopes = values.scope.split(/[\s,]+/).filter(Boolean)
const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
if (unknown.length > 0) fail(`unknown scope ${unknown.join(', ')}; known scopes: ${SCOPES.join(' ')}`)
let ttlSeconds: number
try {
  ttlSeconds = parseTtl(values.ttl)
} catch (err) {
  fail((err as Error).message)
}
const sign = createSigner({ key: secret, algorithm: 'HS256' })
console.log(sign({ sub: values.sub, scope: scopes.join(' '), exp: Math.floor(Date.now() / 1000) + ttlSeconds }))
