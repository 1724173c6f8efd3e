// Lint config: typescript-eslint's recommended rules over the TypeScript sources, plus the layout's
// boundaries: the kernel knows no plugin (only the composition roots read the manifest), and a plugin
// never imports another plugin (it goes through the bus and core/clients).
import { readdirSync } from 'node:fs'
import path from 'node:path'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const plugins = readdirSync(path.join(import.meta.dirname, 'plugins'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
const noPluginImports = (message, patterns) => ['error', { patterns: [{ group: patterns, message }] }]

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tap/**', 'test-output/**', 'plugins/dashboard/public/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off'
    }
  },
  {
    files: ['core/**/*.ts', 'config/**/*.ts', 'flags/**/*.ts'],
    ignores: ['core/main.ts', 'core/cli/**'],
    rules: { 'no-restricted-imports': noPluginImports('The kernel knows no plugin: only the composition roots (core/main.ts, core/cli/) read plugins/.', ['**/plugins/**']) }
  },
  ...plugins.map((name) => ({
    files: [`plugins/${name}/**/*.ts`],
    rules: {
      'no-restricted-imports': noPluginImports(`A plugin never imports another plugin: use the bus or core/clients.`, plugins.filter((p) => p !== name).map((p) => `**/plugins/${p}/**`))
    }
  }))
)
