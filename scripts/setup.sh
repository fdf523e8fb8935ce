#!/bin/sh
# Installs what this project needs, on a fresh machine, and nothing twice:
#  1. Node.js dependencies from package-lock.json, among them Deno (pinned, from the npm registry);
#  2. a WebGPU adapter: where there is no GPU, Mesa's software Vulkan driver (lavapipe). On
#     Debian 12 it comes from bookworm-backports (Mesa 25): bookworm's own Mesa 22 is 2-3x slower
#     and Dawn (Node's and Bun's WebGPU) rejects it;
#  3. a browser for the browser tests: Debian's `chromium` (npm's playwright-core drives it; no
#     browser is downloaded from anywhere else). CHROMIUM=/path/to/chrome uses another one.
# With SETUP_NODE_AND_DENO_ONLY=1 (scripts/run.sh pack, publish), only step 1. Prints the path of
# the Deno binary on its last line.
set -eu
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root for: $*"; exit 1
  fi
}

if ! command -v npm >/dev/null; then
  if command -v apt-get >/dev/null; then
    say "installing Node.js and npm from Debian"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
  else
    say "Node.js and npm are needed (https://nodejs.org)"; exit 1
  fi
fi

deno_bin() {
  for f in node_modules/deno/deno node_modules/@deno/*/deno; do
    [ -x "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}
want=$(node -p 'require("./package.json").devDependencies.deno')
have=$(D=$(deno_bin) && "$D" --version 2>/dev/null | sed -n 's/^deno \([^ ]*\).*/\1/p' || true)
if [ "$have" != "$want" ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (Deno $want)"
  # Not `npm ci`: a registry that serves only this platform's Deno package makes npm write a lock
  # without the others, which `npm ci` then rejects. `install --no-save` keeps the locked versions
  # and leaves package-lock.json alone.
  npm install --no-save --no-fund --no-audit --loglevel=error >&2
  # npm leaves its record of the tree alone when nothing changed; a checkout that only touched
  # package-lock.json would otherwise install again on every run (18 s each).
  touch node_modules/.package-lock.json
fi
DENO=$(deno_bin) || { say "Deno did not install"; exit 1; }
# Packing and publishing need Node and Deno only: no GPU driver or browser (root, 100 MB) for them.
if [ "${SETUP_NODE_AND_DENO_ONLY:-}" = 1 ]; then
  echo "$DENO"
  exit 0
fi

# WebGPU adapter. A hardware adapter is kept as it is; otherwise make sure lavapipe is Mesa >= 25.
probe=$("$DENO" run --quiet scripts/probe_adapter.ts 2>/dev/null || true)
case "$probe" in
  hardware:*) ;;
  *)
    mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
    case "$mesa" in
      2[5-9].*|[3-9][0-9].*) ;;
      *)
        if command -v apt-get >/dev/null; then
          codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
          target=""
          if [ "$codename" = bookworm ]; then
            target="-t bookworm-backports"
            if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
              say "adding bookworm-backports"
              echo "deb http://deb.debian.org/debian bookworm-backports main" |
                as_root tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
            fi
          fi
          say "installing Mesa's software Vulkan driver (lavapipe)"
          as_root apt-get update -qq >&2
          # shellcheck disable=SC2086
          as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $target \
            mesa-vulkan-drivers libvulkan1 >&2
        elif [ -z "$probe" ] || [ "$probe" = none ]; then
          say "no WebGPU adapter and no apt-get: install a Vulkan driver (Mesa lavapipe >= 25)"
          exit 1
        fi
        ;;
    esac
    probe=$("$DENO" run --quiet scripts/probe_adapter.ts 2>/dev/null || true)
    ;;
esac
case "$probe" in
  none|"") say "still no WebGPU adapter"; exit 1 ;;
esac
say "WebGPU adapter: $probe"

# Chromium, for the browser tests (scripts/browser_tests.ts) and `deno task web`.
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
  if command -v apt-get >/dev/null; then
    say "installing Debian's chromium, for the browser tests"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  else
    say "no chromium and no apt-get: install Chromium or Chrome and set CHROMIUM=/path/to/it"
    exit 1
  fi
fi
echo "$DENO"
