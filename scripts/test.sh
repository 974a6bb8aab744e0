#!/usr/bin/env bash
# The whole test suite, as root on a Debian machine: unit tests and end-to-end tests
# with real containers. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BERTH_PEERS=1 bash scripts/install-deps.sh   # umoci validates the OCI layouts we write
cargo build --workspace --bins --locked
cargo test --workspace --locked "$@"
