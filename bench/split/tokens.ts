// Admin tokens for the load processes and the orchestration, signed with the secret the Helix processes verify.
import { createSigner } from 'fast-jwt'
import { TEST_SECRET } from '../../test/helpers/build.js'

const sign = createSigner({ key: TEST_SECRET, algorithm: 'HS256' })

export function adminToken(ttlSeconds = 4 * 3600): string {
  return sign({ sub: 'bench', scope: 'admin', exp: Math.floor(Date.now() / 1000) + ttlSeconds })
}
