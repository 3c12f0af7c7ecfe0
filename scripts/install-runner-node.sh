#!/usr/bin/env bash
# Installs the Node that action.yml names (runs.using: node24) into .peers/node24/, for
# `npm run bench`: a GitHub runner starts the action with that Node, whatever Node this machine
# has, and the two differ in what the bench measures (Node 20 parses its root certificates on the
# main thread; Node 24 does it on another thread while the action starts).
#
# The binary comes from the npm registry: node-<os>-<arch>, the per-platform packages behind npm's
# `node` package, at a pinned version, unpacked here and never linked onto PATH (the tests and the
# build keep this machine's Node). npm pack checks the tarball against the registry's integrity;
# for linux-x64, the runners' platform, the script also checks it against the hash pinned below.
# Idempotent: nothing is downloaded when the pinned version is already there. Not fatal: without
# it the bench runs the action on this machine's Node, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=24.22.3
LINUX_X64_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
DIR=.peers/node24

if [ -x "$DIR/bin/node" ] && [ "$("$DIR/bin/node" --version 2>/dev/null)" = "v$VERSION" ]; then
  echo "install-runner-node: Node v$VERSION (action.yml: node24) is in $DIR"
  exit 0
fi

platform="$(node -p 'process.platform + "-" + process.arch')"
package="node-$platform@$VERSION"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

give_up() {
  echo "install-runner-node: $1; npm run bench will run the action on this machine's Node ($(node --version)) instead of node24" >&2
  exit 0
}

echo "install-runner-node: fetching $package from the npm registry (about 50 MB)"
if ! npm pack "$package" --pack-destination "$scratch" >"$scratch/pack.log" 2>&1; then
  give_up "cannot fetch $package ($(grep -m 1 'npm error' "$scratch/pack.log" || echo 'npm pack failed'))"
fi
tarball="$(ls "$scratch"/*.tgz)"
if [ "$platform" = linux-x64 ]; then
  actual="$(node -e 'const { createHash } = require("node:crypto")
    const data = require("node:fs").readFileSync(process.argv[1])
    console.log("sha512-" + createHash("sha512").update(data).digest("base64"))' "$tarball")"
  if [ "$actual" != "$LINUX_X64_INTEGRITY" ]; then
    echo "install-runner-node: $package does not match the pinned hash ($actual)" >&2
    exit 1
  fi
fi

rm -rf "$DIR"
mkdir -p "$DIR"
tar -xzf "$tarball" -C "$DIR" --strip-components=1 package/bin/node package/LICENSE
if [ "$("$DIR/bin/node" --version 2>/dev/null)" != "v$VERSION" ]; then
  rm -rf "$DIR"
  give_up "the unpacked $DIR/bin/node does not run here"
fi
echo "install-runner-node: Node v$VERSION (action.yml: node24) installed in $DIR"
