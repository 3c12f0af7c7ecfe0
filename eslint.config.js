import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'build/', '.peers/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
      },
    },
  },
  {
    // CommonJS scripts (the bench's floor starts the way dist/index.js does).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Type-aware rules, with the types tsc sees: the files tsconfig.json includes (src/,
    // __tests__/, scripts/**/*.mjs), and the bench's one TypeScript floor, which tsconfig.json
    // leaves out, through the project service's default project.
    files: ['src/**/*.ts', '__tests__/**/*.ts', 'scripts/**/*.mjs', 'scripts/bench/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['scripts/bench/*.ts'] },
        tsconfigRootDir: dirname(fileURLToPath(import.meta.url)),
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
)
