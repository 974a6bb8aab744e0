#!/usr/bin/env bash
# The whole test suite, as root on a Debian machine: unit tests and end-to-end tests
# with real containers. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BERTH_PEERS=1 bash scripts/install-deps.sh   # umoci validates the OCI layouts we write
# docker-py, the Python SDK, for its end-to-end scenario (a venv inside target/).
if [[ ! -x target/docker-py/bin/python ]] || ! target/docker-py/bin/python -c 'import docker' 2>/dev/null; then
  python3 -m venv target/docker-py
  target/docker-py/bin/pip install -q 'docker>=7,<8'
fi
# Lints first: clippy with warnings as errors (the workspace denies undocumented unsafe).
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --bins --locked
cargo test --workspace --locked "$@"
