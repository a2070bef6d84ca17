#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for mnet: installs the packages, then
# builds the library, the CLI (build/mnet), the example and the tests in
# build/ (Release).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
echo "setup: built build/mnet"
