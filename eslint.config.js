// Lint: TypeScript rules plus the layering of DESIGN.md, enforced with no-restricted-imports.
//   engine/   pure TypeScript: nothing from backend/electron/server/cli/renderer, no electron/sqlite
//   runtime/  the only importer of onnxruntime-node; store/ the only importer of better-sqlite3;
//   io/image  the only importer of sharp; the renderer imports only contract/.
import tseslint from 'typescript-eslint';

const appLayers = ['**/backend/**', '**/electron/**', '**/server/**', '**/cli/**', '**/src-renderer/**'];
const only = (name, owner) => ({ name, message: `${name} is owned by ${owner}; go through it.` });

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'release/**', 'models/**', 'scratch/**', 'data/**', 'runs/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src-main/**/*.ts'],
    ignores: ['src-main/engine/runtime/**', 'src-main/backend/store/**', 'src-main/engine/io/image.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [only('onnxruntime-node', 'src-main/engine/runtime'), only('better-sqlite3', 'src-main/backend/store'), only('sharp', 'src-main/engine/io/image.ts')],
      }],
    },
  },
  {
    files: ['src-main/engine/**/*.ts'],
    ignores: ['src-main/engine/runtime/**', 'src-main/engine/io/image.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['electron', 'better-sqlite3', only('onnxruntime-node', 'src-main/engine/runtime'), only('sharp', 'src-main/engine/io/image.ts')],
        patterns: [{ group: appLayers, message: 'the engine is pure: it must not import app layers.' }],
      }],
    },
  },
  {
    files: ['src-main/engine/runtime/**/*.ts', 'src-main/engine/io/image.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['electron', 'better-sqlite3'],
        patterns: [{ group: appLayers, message: 'the engine is pure: it must not import app layers.' }],
      }],
    },
  },
  {
    files: ['src-main/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['node:*', '**/engine/**', '**/backend/**', '**/electron/**', '**/server/**', '**/cli/**'], message: 'the contract is shared with the renderer: no Node or backend imports.' }],
      }],
    },
  },
  {
    files: ['src-renderer/**/*.ts', 'src-renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/src-main/engine/**', '**/src-main/backend/**', '**/src-main/server/**', '**/src-main/cli/**', '**/src-main/electron/**', 'node:*', 'onnxruntime-node', 'better-sqlite3', 'sharp'], message: 'the renderer talks only to src-main/contract.' }],
      }],
    },
  },
);
