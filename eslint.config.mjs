// ESLint: typescript-eslint's recommended type-aware rules over the TypeScript of the house.
// Formatting is prettier's job (`npm run format:check`), so no stylistic rules here.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", ".engine/", ".sandbox/", ".cache/", "bin/", "**/*.js", "**/*.mjs", "policy/node_modules/"] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    },
    {
        // Tests read what processes print and what states hold (JSON.parse, spawned output) and check it
        // field by field: the assertions are the types there, so typing every fixture would restate them.
        files: ["test/**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unsafe-argument": "off",
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-call": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-return": "off",
        },
    },
);
