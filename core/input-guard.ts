// What every request's input must satisfy before any route sees it: no NUL character in the URL or in
// a JSON body (PostgreSQL cannot store one), JSON bodies at most 32 levels deep, and no query
// parameter the route does not declare (DESIGN sections 6 and 7).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { errors } from './errors.js'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js'

/**
 * Where the first NUL character of a parsed JSON value is, in a string or a key, as a JSON pointer
 * (`/name`, `/plan/0/args`, `` for the value itself); null when there is none. Walked without recursion.
 */
export function nulPath(value: unknown): string | null {
  // Nearly every body has no NUL: look first without building a path for every node.
  if (!hasNul(value)) return null
  const stack: [node: unknown, path: string][] = [[value, '']]
  while (stack.length > 0) {
    const [node, path] = stack.pop()!
    if (typeof node === 'string') {
      if (node.includes('\0')) return path
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        // A pointer segment (`~` and `/` escaped), with a NUL in a key written out rather than echoed back.
        const childPath = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1').replaceAll('\0', '\\u0000')}`
        if (key.includes('\0')) return childPath
        stack.push([child, childPath])
      }
    }
  }
  return null
}

function hasNul(value: unknown): boolean {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const node = stack.pop()
    if (typeof node === 'string') {
      if (node.includes('\0')) return true
    } else if (node !== null && typeof node === 'object') {
      for (const key in node) {
        if (key.includes('\0')) return true
        stack.push((node as Record<string, unknown>)[key])
      }
    }
  }
  return false
}

/** Which part of the URL holds a NUL (`%00`; Node's parser refuses a raw one), or null. */
function nulInUrl(request: FastifyRequest): string | null {
  const { url } = request
  if (!url.includes('%00')) return null
  const queryAt = url.indexOf('?')
  if (queryAt === -1 || url.slice(0, queryAt).includes('%00')) return 'the URL path'
  for (const [name, value] of Object.entries(request.query as Record<string, unknown>)) {
    if (name.includes('\0')) return 'a query parameter name'
    if ([value].flat().some((v) => typeof v === 'string' && v.includes('\0'))) return `query parameter ${JSON.stringify(name)}`
  }
  return 'the query string'
}

/** A route without a query schema takes no query parameters at all. */
const NO_QUERY = Type.Object({}, { additionalProperties: false })

export function installInputGuard(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const where = nulInUrl(request)
    done(where ? errors.invalidCharacter(where) : undefined)
  })

  // Fastify's own JSON parser (secure-json-parse, prototype poisoning refused), behind a depth check on
  // the raw text: a body of thousands of nested arrays never becomes a value anything must walk.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
    if (exceedsJsonDepth(text)) return done(errors.tooDeep(MAX_JSON_DEPTH), undefined)
    parseJson(request, text, (err, value) => {
      if (err) return done(err, undefined)
      // Only a text with the escape can hold a NUL (JSON strings cannot carry a raw one).
      const nul = text.includes('\\u0000') ? nulPath(value) : null
      if (nul !== null) return done(errors.invalidCharacter(`body${nul}`), undefined)
      done(null, value)
    })
  })

  // Unknown query parameters are a 400 like unknown body properties: every route's query schema is
  // closed unless it says otherwise, and a route without one takes none.
  app.addHook('onRoute', (route) => {
    const schema = route.schema ?? {}
    const query = schema.querystring as { type?: unknown; additionalProperties?: unknown } | undefined
    if (!query) route.schema = { ...schema, querystring: NO_QUERY }
    else if (query.type === 'object' && query.additionalProperties === undefined) route.schema = { ...schema, querystring: { ...query, additionalProperties: false } }
  })
}
