// Client options for the Google clients (DESIGN section 10): an endpoint URL `http://host:port` is
// plaintext gRPC with no credential lookup (a local fake); `https://host[:port]` or a bare host is TLS;
// credentials come from a key file (GOOGLE_APPLICATION_CREDENTIALS) or inline JSON.
import { grpc, type ClientOptions } from 'google-gax'
import type { GoogleConfig } from './google-config.js'

function endpointOptions(endpoint: string): ClientOptions {
  const url = new URL(endpoint.includes('://') ? endpoint : `https://${endpoint}`)
  const port = Number(url.port || (url.protocol === 'http:' ? 80 : 443))
  if (url.protocol === 'https:') return { apiEndpoint: url.hostname, port }
  if (url.protocol !== 'http:') throw new Error(`a Google endpoint is http://host:port or https://host[:port], not ${endpoint}`)
  return {
    apiEndpoint: url.hostname,
    port,
    // google-gax's own grpc-js: with insecure channel credentials the client sends no token, and a
    // universe domain given up front stops google-auth-library from probing for one.
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com'
  }
}

export function googleClientOptions(config: GoogleConfig, endpoint: string | undefined): ClientOptions {
  if (endpoint?.startsWith('http://')) return endpointOptions(endpoint)
  const credentials: ClientOptions = config.credentialsJson
    ? { credentials: JSON.parse(config.credentialsJson) as ClientOptions['credentials'] }
    : config.credentialsFile ? { keyFilename: config.credentialsFile } : {}
  return { ...credentials, ...(endpoint ? endpointOptions(endpoint) : {}) }
}
