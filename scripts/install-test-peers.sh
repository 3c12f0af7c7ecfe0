#!/usr/bin/env bash
# Installs the real peers the end-to-end tests run against (__tests__/real-peers.test.ts):
#   squid            a forward proxy (the tests start their own, with their own configuration)
#   docker-registry  the distribution registry 2.8 (idem)
#   skopeo           the referee: what a real client says about the same registry
#   openssl          test certificates and the proxy's password file
#   chromium         Debian's browser, in which __tests__/render.test.ts renders job summaries
#                    (playwright-core drives it; no browser is ever downloaded) and
#                    scripts/screenshots.mjs takes the README's pictures; with a colour emoji font
# Idempotent and quick once they are there: nothing is downloaded unless a command is missing.
# The Debian packages start system services of their own; this script stops and disables them,
# so that the tests' own instances are the only ones (nothing stays on 3128 or 5000).
# Debian or Ubuntu; as root, or as a user who may use sudo.
set -euo pipefail

# command → package
declare -A PACKAGE=(
  [squid]=squid
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [openssl]=openssl
  [chromium]=chromium
)
# Debian installs squid's helpers outside PATH; the tests need this one for proxy credentials.
NCSA_HELPER=/usr/lib/squid/basic_ncsa_auth

# A browser already on the machine can stand in for Debian's chromium (GitHub's Ubuntu runners
# have Google Chrome, and Ubuntu ships chromium only as a snap): name it in CHROMIUM_PATH.
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then
  unset 'PACKAGE[chromium]'
fi

missing=()
for cmd in "${!PACKAGE[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ] && ! [ -x "/usr/bin/$cmd" ]; then
    missing+=("${PACKAGE[$cmd]}")
  fi
done
if ! [ -x "$NCSA_HELPER" ] && ! printf '%s\n' "${missing[@]}" | grep -qx squid; then
  missing+=(squid)
fi
# The summary's marks (✅ ❌ ⏭️) in the rendered pages and screenshots.
EMOJI_FONT=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
if ! [ -e "$EMOJI_FONT" ]; then
  missing+=(fonts-noto-color-emoji)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-peers: squid, docker-registry, skopeo, openssl and chromium are installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-test-peers: missing ${missing[*]}; installing them needs root or sudo." >&2
  echo "  Run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-peers: missing ${missing[*]}, and there is no apt-get here (Debian or Ubuntu needed)." >&2
  exit 1
fi

echo "install-test-peers: installing ${missing[*]}"
# policy-rc.d (exit 101) keeps the packages' maintainer scripts from starting their services while
# they install; ours is removed afterwards, and one that was already there is left alone.
policy=/usr/sbin/policy-rc.d
ours_policy=false
if ! [ -e "$policy" ]; then
  printf '#!/bin/sh\n# install-test-peers.sh: no service starts during the install\nexit 101\n' |
    "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  ours_policy=true
fi
cleanup() {
  if [ "$ours_policy" = true ]; then "${as_root[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null

# Whatever the packages enabled or started: stop and disable it.
for service in squid docker-registry; do
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    "${as_root[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    "${as_root[@]}" service "$service" stop >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null 2>&1; then
    "${as_root[@]}" update-rc.d -f "$service" disable >/dev/null 2>&1 || true
  fi
done
# The tests use ports of their own, but say so if a system instance is still listening.
if command -v ss >/dev/null 2>&1; then
  for port in 3128 5000; do
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
      echo "install-test-peers: warning: something still listens on port $port (a system squid or docker-registry?)" >&2
    fi
  done
fi

for cmd in "${!PACKAGE[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ] && ! [ -x "/usr/bin/$cmd" ]; then
    echo "install-test-peers: $cmd is still missing after apt-get install ${PACKAGE[$cmd]}" >&2
    exit 1
  fi
done
if ! [ -x "$NCSA_HELPER" ]; then
  echo "install-test-peers: $NCSA_HELPER is missing after installing squid" >&2
  exit 1
fi
echo "install-test-peers: installed ${missing[*]}; their system services are stopped and disabled"
