import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "edge-runtime",
    // lakitu/test ships TypeScript that uses import.meta.glob: let vite transform it.
    server: { deps: { inline: ["convex-test", "lakitu"] } },
  },
});
