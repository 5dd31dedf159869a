import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // The example app imports the package by name, as a real app would; tests resolve it to the source.
    alias: [
      { find: /^lakitu\/test$/, replacement: src("./convex/test.ts") },
      { find: /^lakitu\/e2b$/, replacement: src("./convex/providers/e2b.ts") },
      { find: /^lakitu\/convex\.config(\.js)?$/, replacement: src("./convex/component/convex.config.ts") },
      { find: /^lakitu$/, replacement: src("./convex/client/index.ts") },
    ],
  },
  test: {
    // CI runs on a loaded 2-core machine: a test that boots workers or sandboxes may take several
    // seconds there. Slowness is measured by npm run bench, not by test timeouts.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "convex",
          include: ["convex/**/*.test.ts", "example/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/*.node.test.ts"],
          environment: "edge-runtime",
          server: { deps: { inline: ["convex-test"] } },
        },
      },
      {
        extends: true,
        test: {
          name: "node",
          include: ["{ksa,runtime,template,cli,scripts,sandbox,test}/**/*.test.ts", "convex/**/*.node.test.ts"],
          // test/consumer/app is a scratch app's files, run by npm run test:consumer against the tarball.
          exclude: ["**/node_modules/**", "test/consumer/**", "test/browser/**"],
          environment: "node",
        },
      },
      {
        extends: true,
        test: {
          // `lakitu dev` driven in Chromium (npm run test:browser): real sandboxes, so generous limits.
          // Each file starts its own server on port 0, so files may run in parallel.
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          exclude: ["**/node_modules/**"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          // lakitu/react's hooks, rendered in a DOM, against the component running in convex-test.
          name: "react",
          include: ["react/**/*.test.{ts,tsx}"],
          exclude: ["**/node_modules/**"],
          environment: "happy-dom",
          server: { deps: { inline: ["convex-test"] } },
        },
      },
    ],
  },
});
