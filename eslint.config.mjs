import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

const config = [
  ...nextVitals,
  ...nextTs,
  {
    ignores: [".next/**", ".next-*/**", ".data/**", "node_modules/**", "scripts/kafka/target/**", "scripts/otlp/target/**", "lib/otlp/gen/**", "test-results/**", "reports/**", "next-env.d.ts"],
  },
  {
    rules: {
      // React Compiler diagnostics: Revenant does not build with the React Compiler, and these
      // flag patterns that are correct without it (reading localStorage into state after
      // mount, Date.now() for "live" labels). Kept visible as warnings.
      "react-hooks/set-state-in-effect": "warn",
      "react-hooks/purity": "warn",
      "react-hooks/preserve-manual-memoization": "warn",
      // Tests and API shapes use `any` for JSON bodies on purpose.
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["warn", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
    },
  },
];

export default config;
