#!/usr/bin/env bash
# Installs the Debian packages berth builds and runs with (as root). Quiet and quick
# when everything is already there.
set -euo pipefail
packages=(libseccomp-dev pkg-config busybox-static iproute2 nftables procps python3-venv gcc libc6-dev)
# Peers used by the interoperability tests and benchmarks, when asked for.
if [[ "${BERTH_PEERS:-}" == 1 ]]; then
  packages+=(runc crun hyperfine umoci docker-compose)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
