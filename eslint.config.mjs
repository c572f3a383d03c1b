// ESLint (flat config) with typescript-eslint's recommended rules, for every TypeScript file of the
// repository; `npm run lint` runs it and `npm test` runs lint first. Formatting is prettier's (.prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.vscode-test/**',
      'test-results/**',
      'dist-vsix/**',
      'models/**',
      'reports/**',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // TypeScript checks names itself (and knows the DOM and Node globals per project).
      'no-undef': 'off',
      // `let x = default; try { x = … }` keeps the default when the try throws: that is the point, not waste.
      'no-useless-assignment': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);
