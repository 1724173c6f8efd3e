// `helix env`: the committed .env.example is exactly what the CLI prints, so it lists every variable
// of the kernel and of each plugin in the manifest; the markdown format is the README's table.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { envSections } from '../../config/index.js'
import { manifest } from '../../plugins/index.js'
import { root } from '../helpers/process.js'
import { helix } from './cli.js'

const sections = envSections(manifest)
const names = sections.flatMap(([, vars]) => Object.keys(vars))

t.test('.env.example is what `helix env --format example` prints (regenerate it with that command)', async (t) => {
  const printed = await helix(['env', '--format', 'example'])
  t.equal(printed.code, 0, printed.stderr)
  t.equal(readFileSync(path.join(root, '.env.example'), 'utf8'), printed.stdout)
})

t.test('the example has every variable, commented out at its default, under a doc line', async (t) => {
  const { stdout } = await helix(['env', '--format', 'example'])
  const lines = stdout.split('\n')
  for (const [title, vars] of sections) {
    t.ok(lines.some((l) => l.startsWith('# ---- ') && l.includes(title.replaceAll('`', ''))), `a heading for ${title}`)
    for (const [name, v] of Object.entries(vars)) {
      const at = lines.indexOf(`# ${name}=${v.default ?? ''}`)
      t.ok(at > 0, `${name} at its default`)
      t.match(lines[at - (v.default === undefined ? 2 : 1)], /^# [A-Z`a-z(]/, `${name} has a doc line`)
    }
  }
  t.ok(names.length > 20)
  t.notOk(lines.some((l) => l !== '' && !l.startsWith('#')), 'nothing is set: every line is a comment')
})

t.test('the markdown table: a row per variable, its default and doc', async (t) => {
  const { code, stdout } = await helix(['env'])
  t.equal(code, 0)
  for (const [, vars] of sections) {
    for (const [name, v] of Object.entries(vars)) {
      t.ok(stdout.includes(`| \`${name}\` | ${v.default === undefined ? '—' : `\`${v.default}\``} | ${v.doc} |`), name)
    }
  }
  t.match(stdout, /^Plus `HELIX_FLAG_<FLAG_NAME>=on\|off`/m)
})
