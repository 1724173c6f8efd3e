// Bundles the dashboard (web/) into public/: hashed JS and CSS, the page pointing at them, and a
// brotli and gzip copy of each file so @fastify/static serves them precompressed. `npm run build`.
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import process from 'node:process'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import * as esbuild from 'esbuild'

const here = path.dirname(fileURLToPath(import.meta.url))
const web = path.join(here, 'web')
const out = path.join(here, 'public')
const brotli = promisify(zlib.brotliCompress)
const gzip = promisify(zlib.gzip)

// Build into a fresh sibling folder and swap it in, so a server reading public/ never sees half a build.
const staging = `${out}.${process.pid}`
await rm(staging, { recursive: true, force: true })
const result = await esbuild.build({
  entryPoints: { app: path.join(web, 'main.ts') },
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  outdir: staging,
  metafile: true,
  logLevel: 'warning'
})

const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f))
const js = outputs.find((f) => f.endsWith('.js'))
const css = outputs.find((f) => f.endsWith('.css'))
const template = await readFile(path.join(web, 'index.html'), 'utf8')
await writeFile(path.join(staging, 'index.html'), template.replace('%APP_JS%', js).replace('%APP_CSS%', css))
await writeFile(path.join(staging, 'favicon.svg'), await readFile(path.join(web, 'favicon.svg')))

for (const name of [js, css, 'index.html', 'favicon.svg']) {
  const file = path.join(staging, name)
  const body = await readFile(file)
  await writeFile(`${file}.br`, await brotli(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }))
  await writeFile(`${file}.gz`, await gzip(body, { level: 9 }))
}
await rm(out, { recursive: true, force: true })
await rename(staging, out)
