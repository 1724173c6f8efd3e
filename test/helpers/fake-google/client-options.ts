// Options that point the real Google clients at an endpoint URL (GOOGLE_SPEECH_ENDPOINT style,
// DESIGN section 10): `http://host:port` is plaintext gRPC with no credential lookup at all.
import { grpc, type ClientOptions } from 'google-gax'

export function googleClientOptions(endpoint: string): ClientOptions {
  const url = new URL(endpoint.includes('://') ? endpoint : `https://${endpoint}`)
  const port = Number(url.port || (url.protocol === 'http:' ? 80 : 443))
  if (url.protocol === 'https:') return { apiEndpoint: url.hostname, port }
  if (url.protocol !== 'http:') throw new Error(`a Google endpoint is http://host:port or https://host[:port], not ${endpoint}`)
  return {
    apiEndpoint: url.hostname,
    port,
    // The channel credentials from google-gax's own copy of grpc-js: with them the client sends no
    // token, and a universe domain given up front stops google-auth-library from looking for
    // credentials (and probing the metadata server) to learn one.
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com'
  }
}
