#!/bin/sh
# Sets the machine up (scripts/setup.sh, quick when already done), then runs a Deno task:
#   scripts/run.sh demo     train a model on the GPU (or on lavapipe where there is none)
#   scripts/run.sh test     run the test suite
#   scripts/run.sh pack     pack the npm package into dist/webgpu-adagrad-<version>.tgz (README, Install)
# Any further arguments go to the task, e.g. `scripts/run.sh demo --epochs 5`.
set -eu
cd "$(dirname "$0")/.."
# Packing and publishing the packages needs Node and Deno only: no WebGPU adapter, no browser.
case "${1:-}" in
  pack | publish) export SETUP_NODE_AND_DENO_ONLY=1 ;;
esac
DENO=$(scripts/setup.sh | tail -n 1)
# Output going to a file (a CI log): no ANSI colours, which make it hard to read.
[ -t 1 ] || export NO_COLOR=1
exec "$DENO" task "$@"
