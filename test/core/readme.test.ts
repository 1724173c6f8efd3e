// The README stays true: it documents every env var and names only npm scripts that exist.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { envSections } from '../../config/index.js'
import { manifest } from '../../plugins/index.js'
import { root } from '../helpers/process.js'

const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
const scripts = Object.keys(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts)

t.test("every env var, the kernel's and each plugin's, has its row in the README's tables", async (t) => {
  for (const [title, vars] of envSections(manifest)) {
    t.ok(readme.includes(`**${title}**`), `a table for ${title}`)
    for (const [name, spec] of Object.entries(vars)) {
      const row = `| \`${name}\` | ${spec.default === undefined ? '—' : `\`${spec.default}\``} | ${spec.doc} |`
      t.ok(readme.includes(row), `README row for ${name}: ${row}`)
    }
  }
})

t.test('every npm script the README names exists', async (t) => {
  const named = [...readme.matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1])
  t.ok(named.length > 5)
  t.same(named.filter((s) => !scripts.includes(s)), [])
  t.match(readme, 'npm install && npm start')
  t.match(readme, 'npm test')
})
