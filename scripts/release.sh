#!/usr/bin/env bash
# Cuts a release: scripts/release.sh 1.2.3
# Sets the version in package.json (the one place it is written; the bundle reads it at build
# time), dates the CHANGELOG's Unreleased section as that version, rebuilds dist/, runs the checks,
# commits and tags v1.2.3. Pushing the tag (the command is printed) makes the release workflow
# check that dist/ is built from the tagged sources, publish the release with the CHANGELOG's
# notes, and move the major tag.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:-}"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "usage: scripts/release.sh X.Y.Z" >&2
  exit 2
fi
if [ -n "$(git status --porcelain)" ]; then
  echo "The work tree has uncommitted changes: commit or stash them first." >&2
  exit 1
fi
if git rev-parse -q --verify "refs/tags/v$version" >/dev/null; then
  echo "The tag v$version exists already." >&2
  exit 1
fi
if ! grep -q '^## \[Unreleased\]' CHANGELOG.md; then
  echo "CHANGELOG.md has no [Unreleased] section to release." >&2
  exit 1
fi

npm version "$version" --no-git-tag-version >/dev/null
today="$(date -u +%Y-%m-%d)"
previous="$(git describe --tags --abbrev=0 --match 'v[0-9]*.[0-9]*.[0-9]*' 2>/dev/null || true)"
node - "$version" "$today" "$previous" <<'NODE'
const fs = require('node:fs')
const [version, today, previous] = process.argv.slice(2)
let text = fs.readFileSync('CHANGELOG.md', 'utf8')
text = text.replace('## [Unreleased]', `## [Unreleased]\n\n## [${version}] - ${today}`)
const base = 'https://github.com/your-org/registry-auth-preflight'
text = text.replace(
  /^\[Unreleased\]: .*$/m,
  `[Unreleased]: ${base}/compare/v${version}...HEAD\n[${version}]: ${previous ? `${base}/compare/${previous}...v${version}` : `${base}/releases/tag/v${version}`}`,
)
fs.writeFileSync('CHANGELOG.md', text)
NODE
npm run build
npx prettier --write CHANGELOG.md package.json >/dev/null
npm run typecheck && npm run lint && npm test

git add package.json package-lock.json CHANGELOG.md dist
git commit -m "Release v$version"
git tag -a "v$version" -m "v$version"
echo "Tagged v$version. Publish it with: git push origin HEAD \"v$version\""
