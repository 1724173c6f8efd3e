// `npm run docs:env`: prints the README's environment table from config/env.ts, the one source.
import { coreEnv, flagsEnv, orchestratorEnv, streamEnv, type EnvVar } from '../../config/env.js'

const sections: [string, Record<string, EnvVar>][] = [
  ['Kernel', coreEnv],
  ['Flags and ownership', flagsEnv],
  ['Streaming (`plugins/stream`)', streamEnv],
  ['Orchestration (`plugins/orchestrator`)', orchestratorEnv]
]
for (const [title, vars] of sections) {
  console.log(`\n**${title}**\n\n| variable | default | meaning |\n|---|---|---|`)
  for (const [name, v] of Object.entries(vars)) {
    console.log(`| \`${name}\` | ${v.default === undefined ? '—' : `\`${v.default}\``} | ${v.doc} |`)
  }
}
console.log('\nPlus `HELIX_FLAG_<FLAG_NAME>=on|off` (e.g. `HELIX_FLAG_HELIX_VOICE_DEDICATED=on`): per-service flag overrides on top of the bootstrap file.')
