#!/usr/bin/env bash
# Offline bundling check of the component with the real convex CLI: it bundles every module for
# Convex's default runtime (failing on "use node" or Node built-ins) before it tries to reach a backend.
# With no backend it then fails to download the deployment state; reaching that step means the bundle
# is good. (The CLI also tries to send telemetry when it fails; that noise is expected here.)
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
CONVEX_SELF_HOSTED_URL=http://127.0.0.1:9 CONVEX_SELF_HOSTED_ADMIN_KEY=offline-check \
  timeout 180 npx convex codegen --component-dir ./convex/component --typecheck disable >"$log" 2>&1
if grep -q "Downloading current deployment state" "$log" && ! grep -q "ERROR\]" "$log"; then
  echo "check-bundle: the component bundles for Convex's default runtime"
  git diff --quiet -- convex/component/_generated || { echo "check-bundle: the CLI changed _generated/:"; git --no-pager diff --stat -- convex/component/_generated; exit 1; }
  exit 0
fi
echo "check-bundle: bundling the component failed:"
grep -v "Retrying request" "$log" | head -40
exit 1
