import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "convex",
          include: ["convex/**/*.test.ts", "example/**/*.test.ts"],
          environment: "edge-runtime",
          server: { deps: { inline: ["convex-test"] } },
        },
      },
      {
        extends: true,
        test: {
          name: "node",
          include: ["{ksa,runtime,template,cli,scripts}/**/*.test.ts"],
          environment: "node",
        },
      },
    ],
  },
});
