// The synthesis cache: identical concurrent requests make one upstream call, a repeat is a memory
// hit, and after a restart the same request is answered from Redis without calling Google.
import t from 'tap'
import { startFakeGoogle } from '../helpers/fake-google/index.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { synthesize, voiceApp } from './voice-app.js'

const fake = await startFakeGoogle()
t.teardown(() => fake.close())
const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t, 'voice'), GOOGLE_SPEECH_ENDPOINT: fake.endpoint, GOOGLE_TTS_ENDPOINT: fake.endpoint }
const request = { text: 'helix vega sync', encoding: 'OGG_OPUS' }
const synthesized = () => fake.calls.filter((c) => c.method === 'SynthesizeSpeech').length

async function lookups(app: Awaited<ReturnType<typeof voiceApp>>['app'], result: string): Promise<number> {
  const series = `helix_voice_cache_lookups_total{result="${result}",role="all"}`
  const line = (await app.helix.kernel.metrics.metrics()).split('\n').find((l) => l.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : 0
}

t.test('50 identical concurrent syntheses make one upstream call; after a restart Redis answers', async (t) => {
  const first = await voiceApp(t, env)
  const answers = await Promise.all(Array.from({ length: 50 }, () => synthesize(first.app, request)))
  t.same([...new Set(answers.map((a) => a.statusCode))], [200])
  t.equal(synthesized(), 1, 'exactly one SynthesizeSpeech')
  t.equal(new Set(answers.map((a) => a.rawPayload.toString('base64'))).size, 1, 'everyone got the same audio')
  t.equal(answers.filter((a) => a.headers['x-voice-cache'] === 'miss').length, 1, 'one caller made it, 49 shared it')
  t.equal(await lookups(first.app, 'shared'), 49)

  const again = await synthesize(first.app, request)
  t.equal(again.headers['x-voice-cache'], 'hit')
  t.equal(await lookups(first.app, 'memory'), 1, 'from memory')
  await first.app.close()

  const second = await voiceApp(t, env)
  const restarted = await synthesize(second.app, request)
  t.equal(restarted.statusCode, 200)
  t.equal(restarted.headers['x-voice-cache'], 'hit')
  t.ok(restarted.rawPayload.equals(answers[0]!.rawPayload), 'the same audio')
  t.equal(await lookups(second.app, 'redis'), 1, 'a Redis hit after the restart')
  t.equal(synthesized(), 1, 'Google was not called again')

  const other = await synthesize(second.app, { ...request, speakingRate: 1.5 })
  t.equal(other.headers['x-voice-cache'], 'miss', 'another rate is another request')
  t.equal(synthesized(), 2)
})
