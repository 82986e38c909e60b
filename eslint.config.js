import tseslint from 'typescript-eslint';
import { layeringPlugin } from './scripts/eslint-layering.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'release/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { layering: layeringPlugin },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // `any` is allowed only where a comment explains why (eslint-disable-next-line with a reason).
      '@typescript-eslint/no-explicit-any': 'error',
      // The layering (commands -> workflows -> reconcile -> targets -> kube -> redis; render only from commands;
      // sandbox never imports src; bench imports only test/support from test): see scripts/eslint-layering.js.
      'layering/imports': 'error',
    },
  },
);
