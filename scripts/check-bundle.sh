#!/usr/bin/env bash
# Offline bundling check of the component with the real convex CLI (scripts/convex-bundle-check.mjs):
# every module bundled for Convex's default runtime, failing on "use node" or Node built-ins. The CLI
# must leave the committed _generated/ as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/convex-bundle-check.mjs --component-dir ./convex/component
git diff --quiet -- convex/component/_generated || { echo "check-bundle: the CLI changed _generated/:"; git --no-pager diff --stat -- convex/component/_generated; exit 1; }
echo "check-bundle: the component bundles for Convex's default runtime"
