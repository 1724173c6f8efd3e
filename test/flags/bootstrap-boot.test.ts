// A malformed flags bootstrap file stops a real process at boot with one line naming the file.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { tempDir } from '../helpers/build.js'
import { startHelix } from '../helpers/process.js'

t.test('a malformed bootstrap file fails boot with exit code 1 and the file name', async (t) => {
  const file = path.join(tempDir(t), 'bootstrap.json')
  writeFileSync(file, '{"version": 2, "features": [{"name": "helix.voice.dedicated"}]}')
  const proc = await startHelix(t, { env: { HELIX_FLAGS_BOOTSTRAP: file }, waitFor: 'none' })
  const { code } = await proc.exited
  t.equal(code, 1)
  t.match(proc.output(), `helix: Invalid flags bootstrap file ${file}: /features/0 must have required properties enabled`)
  t.notMatch(proc.output(), /\n\s+at /, 'no stack trace')
})
