/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The deployment's URL, e.g. https://happy-otter-123.convex.cloud (`npx convex dev` writes it to example/.env.local). */
  readonly VITE_CONVEX_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
