// ESLint flat config for the browser pages (assist/web/static): plain ES modules run as-is in the browser.
// Run: npm run lint (scripts/test runs it; npm ci installs the pinned versions of package-lock.json).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", ".venv/", "assist/web/static/vendor/"] },
  js.configs.recommended,
  {
    files: ["assist/web/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
];
