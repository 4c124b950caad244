#!/usr/bin/env bash
# Newcomer command 1: set up, build, and run Karyon's main job on its built-in synthetic slide.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD=${KARYON_BUILD_DIR:-build}
"$BUILD/app/karyon-cli" demo --out out/demo "$@"
