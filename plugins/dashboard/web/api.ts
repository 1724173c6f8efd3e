// The REST calls the page makes, same origin (the monolith proxies what it does not own). Errors
// carry the server's `{"error","message"}` so the page can say what went wrong.
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

export interface Discovery {
  name: string
  version: string
  role: string
  plugins: Record<string, { owner: string; url: string | null; ws?: string | null }>
}

export class Api {
  constructor(private readonly token: () => string) {}

  async get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path)
  }

  async send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body: unknown): Promise<T> {
    return this.request<T>(method, path, body)
  }

  discovery(): Promise<Discovery> {
    return this.request<Discovery>('GET', '/.well-known/helix.json', undefined, false)
  }

  private async request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (auth) headers.authorization = `Bearer ${this.token()}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
    } catch {
      throw new ApiError(0, 'network', 'Helix is not reachable')
    }
    const text = await res.text()
    const json = text ? safeJson(text) : undefined
    if (!res.ok) {
      throw new ApiError(res.status, json?.error ?? `http_${res.status}`, json?.message ?? `${method} ${path} answered ${res.status}`)
    }
    return json as T
  }
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The token's scopes, read (not verified: the server does that) to decide which controls to show. */
export function tokenClaims(token: string): { sub?: string; scopes: Set<string>; exp?: number } | null {
  const part = token.split('.')[1]
  if (!part) return null
  try {
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')))
    return { sub: json.sub, exp: json.exp, scopes: new Set(String(json.scope ?? '').split(' ').filter(Boolean)) }
  } catch {
    return null
  }
}
