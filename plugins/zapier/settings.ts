// The Zapier plugin's env settings, parsed at boot with the kernel's (config/).
import { Type } from 'typebox'
import { positiveInt } from '../../config/env.js'

export const zapierSettings = {
  ZAPIER_SOURCES: {
    schema: Type.String({ minLength: 2 }),
    example: '{"zapier":{"scheme":"standard","secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}}',
    expect: 'JSON: {"<source>":{"scheme":"standard"|"zapier","secrets":["..."]}}',
    doc: 'Inbound webhook sources as JSON: `{"<source>":{"scheme":"standard","secrets":["whsec_..."]}}`, scheme `standard` (Standard Webhooks) or `zapier` (`X-Zapier-Signature`), several secrets while rotating. Unset: no source, every hook `404`.',
    secret: true
  },
  ZAPIER_SOURCES_FILE: {
    schema: Type.String({ minLength: 1 }),
    example: '/run/secrets/zapier-sources.json',
    expect: 'a path to a JSON file',
    doc: 'A file holding the same JSON as `ZAPIER_SOURCES` (read at boot; `ZAPIER_SOURCES` wins when both are set).'
  },
  HELIX_WEBHOOK_MAX_BYTES: positiveInt('262144', 1024, 10_485_760, 'Largest inbound webhook body in bytes (`413` above it, before the rest is read).'),
  ZAPIER_LEASE_MS: positiveInt('60000', 1000, 3_600_000, 'How long a pipeline run holds an inbound event: the events of a replica that died mid-run are taken over after this.'),
  HELIX_OUTBOUND_ALLOW: {
    schema: Type.String({ pattern: '^[^\\s,]+(\\s*,\\s*[^\\s,]+)*$' }),
    example: '127.0.0.1,::1,hooks.internal',
    expect: 'a comma list of host names, IP addresses and CIDRs',
    doc: 'Outbound delivery targets allowed although private or loopback (host names, IPs, CIDRs); these may also use plain `http`. Unset: only public `https` targets.'
  }
}
