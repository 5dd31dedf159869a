#!/usr/bin/env bash
# The consumer's path, from the packed tarball (npm run test:consumer):
#   pack → a scratch Convex app (convex 1.48, TypeScript 5.9, the tarball) → npx lakitu init --yes →
#   the convex CLI bundles the app's functions offline → _generated/ in convex 1.48's shape (offline)
#   → typecheck on TypeScript 5.9 and 7 (and strict / node10 variants, and a board page in ui/ over
#   lakitu/react with react 19) → the app's own vitest test
#   through lakitu/test → npx lakitu demo from the installed package.
# The scratch app's own files are in test/consumer/app. Set LAKITU_CONSUMER_KEEP=1 to keep the folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lakitu-consumer-XXXXXX")
app="$work/app"
if [ "${LAKITU_CONSUMER_KEEP:-}" = "1" ]; then echo "consumer: keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
t0=$(date +%s)
step() { echo; echo "== consumer: $1 ($(( $(date +%s) - t0 )) s)"; }
tsx() { node "$repo/node_modules/tsx/dist/cli.mjs" "$@"; }

echo "consumer: node $(node --version), npm $(npm --version)"
step "pack (prepack builds dist/ and the runtime bundle)"
(cd "$repo" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball=$(ls "$work"/lakitu-*.tgz)
echo "$(basename "$tarball"): $(du -k "$tarball" | cut -f1) KiB"

step "a fresh Convex app with the tarball"
cp -r "$repo/test/consumer/app" "$app"
node -e '
  const [tarball, out] = process.argv.slice(1);
  const pkg = {
    name: "consumer-app", private: true, type: "module",
    scripts: { test: "vitest run" },
    dependencies: { convex: "1.48.0", lakitu: `file:${tarball}`, react: "19.3.1", "react-dom": "19.3.1" },
    devDependencies: {
      "@types/react": "19.3.3",
      typescript: "~5.9.3", "typescript-7": "npm:typescript@7.0.2",
      vitest: "4.1.12", "convex-test": "0.0.60", "@edge-runtime/vm": "5.0.0",
    },
  };
  require("fs").writeFileSync(out, JSON.stringify(pkg, null, 2) + "\n");
' "$tarball" "$app/package.json"
cd "$app"
npm install --no-audit --no-fund --prefer-offline --loglevel=error
echo "installed: typescript $(node -p 'require("typescript/package.json").version'), convex $(node -p 'require("convex/package.json").version'), lakitu $(node -p 'require("lakitu/package.json").version'), ai $(node -p 'require("ai/package.json").version'), react $(node -p 'require("react/package.json").version')"

step "npx lakitu init --yes"
npx lakitu init --yes
for dep in zod; do
  node -e 'const p=require("./package.json"); const d={...p.dependencies,...p.devDependencies}; if(!(process.argv[1] in d)){console.error("init did not install "+process.argv[1]); process.exit(1)}' "$dep"
done
test ! -e convex/crons.ts || { echo "init wrote a crons.ts: the component runs its own reaper"; exit 1; }

step "the convex CLI bundles the app offline (and writes convex/tsconfig.json and its _generated stubs)"
node "$repo/scripts/convex-bundle-check.mjs" --init

step "_generated/ in convex 1.48's shape, offline"
tsx "$repo/scripts/app-codegen.ts" convex --check >/dev/null 2>&1 && { echo "the CLI's stub api.d.ts already typed components?"; exit 1; }
# api.js and dataModel.d.ts, which the CLI writes in full without a backend, must come out byte-identical
# to ours. What it cannot write offline: api.d.ts (typed from the backend's analysis) and the env part
# of server.d.ts / server.js (the app's declared env).
stale=$(tsx "$repo/scripts/app-codegen.ts" convex)
echo "$stale"
case "$stale" in *api.js*|*dataModel.d.ts*) echo "app codegen differs from the convex CLI's own output"; exit 1;; esac
grep -q 'lakitu: import("lakitu/_generated/component.js").ComponentApi<"lakitu">' convex/_generated/api.d.ts

step "typecheck: TypeScript 5.9 (convex/tsconfig.json as the CLI wrote it), TypeScript 7, strict, node10"
npx tsc --version
npx tsc -p convex
node node_modules/typescript-7/bin/tsc -p convex
npx tsc -p tsconfig.strict.json
npx tsc -p tsconfig.node10.json
# The board page (ui/Board.tsx): LakituDashboard and a hook from lakitu/react over the app's wrappers.
npx tsc -p ui
node node_modules/typescript-7/bin/tsc -p ui
# lakitu/ksa (the app's own KSAs) compile against the package too.
npx tsc --noEmit --strict --skipLibCheck --module ESNext --moduleResolution Bundler --target ES2022 lakitu/ksa/*.ts

step "the app's own vitest test, through lakitu/test"
npx vitest run

step "npx lakitu demo from the installed package"
npx lakitu demo

step "npx lakitu dev from the installed package: the page, its bundled script, the local API, the app's KSAs and declared board"
mkdir -p lakitu
echo '{ "boards": [{ "name": "Consumer board", "stages": [{ "name": "Work", "kind": "agent", "allowedKsas": ["file", "slug"] }, { "name": "Done", "kind": "done" }] }] }' > lakitu/boards.json
# The installed bin run by node itself (not through npx), so that $! is the dev server and a signal reaches it.
node node_modules/lakitu/dist/cli/index.js dev --port 0 > dev.log 2>&1 &
dev_pid=$!
node - <<'JS' || { cat dev.log; kill "$dev_pid" 2>/dev/null; exit 1; }
const { readFileSync } = require("fs");
(async () => {
  let url;
  for (let i = 0; i < 240 && !url; i++) {
    url = /Lakitu dev: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(readFileSync("dev.log", "utf8"))?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 500));
  }
  if (!url) throw new Error("lakitu dev printed no URL in 120 s");
  const page = await (await fetch(url)).text();
  if (!page.includes('src="/assets/main.js"')) throw new Error("the dashboard page does not load its script");
  const js = await fetch(new URL("/assets/main.js", url));
  if (!js.ok || !(await js.text()).includes("/api/updates")) throw new Error(`the dashboard script is missing (${js.status})`);
  const info = await (await fetch(new URL("/api/info", url))).json();
  if (info.persistence?.runHistoryKept !== false || info.boards?.length !== 1) throw new Error(`unexpected /api/info: ${JSON.stringify(info)}`);
  const call = async (name, args) => (await fetch(new URL("/api/query", url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, args }) })).json();
  const board = await call("getBoard", { boardId: info.boards[0] });
  if (!board.ok || board.value.stages[0].allowedKsas.join() !== "file,slug") throw new Error(`the declared board with the app's KSA: ${JSON.stringify(board)}`);
  console.log(`lakitu dev: ${url} serves the dashboard (${page.length} B page), and its declared board "${board.value.board.name}"`);
})().catch((e) => { console.error(e.message); process.exit(1); });
JS
kill -INT "$dev_pid"
# Bounded: a server that does not stop on SIGINT fails the step instead of hanging CI.
for i in $(seq 1 60); do kill -0 "$dev_pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$dev_pid" 2>/dev/null; then kill -KILL "$dev_pid"; echo "lakitu dev did not stop within 30 s of SIGINT"; cat dev.log; exit 1; fi
echo "lakitu dev stopped on SIGINT"

step "done"
echo "consumer: passed in $(( $(date +%s) - t0 )) s"
