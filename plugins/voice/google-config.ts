// Whether the Google providers are configured: read at boot without loading the Google client
// libraries, which only a process that uses them imports (google-provider.ts).

export interface GoogleConfig {
  credentialsFile?: string
  credentialsJson?: string
  speechEndpoint?: string
  ttsEndpoint?: string
}

export function isGoogleConfigured(config: GoogleConfig): boolean {
  return Boolean(config.credentialsFile || config.credentialsJson || config.speechEndpoint || config.ttsEndpoint)
}
