// SSRF protection at connect time: the delivery dispatcher resolves and checks every address where
// the connection is made, so a name that passed the subscribe-time check and later resolves to
// loopback (DNS rebinding), or an IP literal, is refused; HELIX_OUTBOUND_ALLOW lets listed ones through.
// Also the retry schedule's shape.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { nextDelay, parseRetryAfter, RETRY_SCHEDULE_MS } from '../../plugins/zapier/retry-schedule.js'
import { TargetPolicy } from '../../plugins/zapier/target-policy.js'

async function server(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const s = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => s.close(resolve)))
  return (s.address() as AddressInfo).port
}

const refusedCode = async (url: string, policy: TargetPolicy) => {
  const dispatcher = policy.dispatcher({ timeoutMs: 2000 })
  try {
    const res = await request(url, { dispatcher })
    await res.body.dump()
    return `answered ${res.statusCode}`
  } catch (err) {
    const e = err as Error & { code?: string; cause?: { code?: string } }
    return e.code ?? e.cause?.code ?? e.message
  } finally {
    await dispatcher.close()
  }
}

t.test('a name that passed the check but resolves to loopback when connecting is refused', async (t) => {
  const port = await server(t)
  const policy = new TargetPolicy([])
  // At subscribe time the name resolved to a public address...
  const url = await policy.check(`https://rebind.example/hook`, async () => [{ address: '93.184.216.34', family: 4 }])
  t.equal(url.hostname, 'rebind.example')
  // ...and when the delivery connects, it resolves to loopback: `localhost` stands in for it.
  t.equal(await refusedCode(`http://localhost:${port}/`, policy), 'ERR_TARGET_REFUSED')
  t.equal(await refusedCode(`http://127.0.0.1:${port}/`, policy), 'ERR_TARGET_REFUSED', 'an IP literal')
  t.equal(await refusedCode(`http://[::ffff:127.0.0.1]:${port}/`, policy), 'ERR_TARGET_REFUSED', 'an IPv4-mapped IPv6 literal')
})

t.test('HELIX_OUTBOUND_ALLOW lets listed hosts and CIDRs through, over http too', async (t) => {
  const port = await server(t)
  t.equal(await refusedCode(`http://127.0.0.1:${port}/`, TargetPolicy.fromSetting('127.0.0.1')), 'answered 200')
  t.equal(await refusedCode(`http://localhost:${port}/`, TargetPolicy.fromSetting('127.0.0.0/8, ::1')), 'answered 200')
  const policy = TargetPolicy.fromSetting('127.0.0.1,::1')
  t.equal((await policy.check(`http://127.0.0.1:${port}/x`)).port, String(port))
  await t.rejects(policy.check('http://10.0.0.1/x'), { code: 'target_refused' }, 'an unlisted private address')
  await t.rejects(new TargetPolicy([]).check('https://user:pw@example.com/'), { code: 'target_refused' }, 'credentials in the URL')
})

t.test('the retry schedule: seconds, minutes, hours, about three days in all; Retry-After honoured', async (t) => {
  const total = RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0)
  t.ok(total > 2.5 * 86_400_000 && total < 3.5 * 86_400_000, `${(total / 86_400_000).toFixed(2)} days`)
  t.equal(nextDelay(1, null, () => 0.5), 5000)
  t.equal(nextDelay(1, null, () => 0), 4000, 'jitter: -20%')
  t.equal(nextDelay(2, null, () => 0.999999), 360_000, 'jitter: +20%')
  t.equal(nextDelay(RETRY_SCHEDULE_MS.length + 1, null), null, 'none left')
  t.equal(nextDelay(1, 120_000), 120_000, 'Retry-After')
  t.equal(parseRetryAfter('7', 0), 7000)
  t.equal(parseRetryAfter(new Date(60_000).toUTCString(), 0), 60_000)
  t.equal(parseRetryAfter('soon', 0), null)
})
