import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, loadEnv } from "vite";

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const exampleDir = repo("example");

// The example imports the package by name, as a real app would; here `lakitu/react` resolves to the
// repo's source (as tsconfig.json's paths do for the typecheck). The deployment's URL comes from
// example/.env.local, which `npx convex dev` writes: VITE_CONVEX_URL, or CONVEX_URL when the CLI saw
// no Vite app there. Only that one value reaches the page.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, exampleDir, "");
  const url = env.VITE_CONVEX_URL || env.CONVEX_URL;
  return {
    plugins: [react()],
    envDir: exampleDir,
    define: url ? { "import.meta.env.VITE_CONVEX_URL": JSON.stringify(url) } : {},
    resolve: {
      alias: [{ find: /^lakitu\/react$/, replacement: repo("react/index.ts") }],
    },
  };
});
