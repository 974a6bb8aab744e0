#!/usr/bin/env bash
# Fresh Debian machine, as root: install what berth needs, build it, and run a
# busybox container with berth's own OCI runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --workspace --bins --locked
bundle=$(mktemp -d /tmp/berth-quickstart.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
target/release/berth-fixture bundle "$bundle" -- sh -c 'echo "hello from berth: pid $$ on $(hostname)"; id'
target/release/berth-runtime run --bundle "$bundle" "quickstart-$$"
