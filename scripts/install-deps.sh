#!/usr/bin/env bash
# Installs the Debian packages berth builds and runs with (as root). Quiet and quick
# when everything is already there.
set -euo pipefail
packages=(libseccomp-dev pkg-config busybox-static iproute2 nftables procps python3-venv gcc libc6-dev)
# Peers used by the interoperability tests and benchmarks, when asked for.
if [[ "${BERTH_PEERS:-}" == 1 ]]; then
  # docker.io: the real dockerd (20.10) the differential oracle test compares with;
  # docker-registry (the CNCF distribution registry) and skopeo: pulls and pushes.
  packages+=(runc crun hyperfine umoci docker-compose docker.io docker-registry skopeo)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages are installed, never started: docker.io's service would otherwise make
  # docker0 and iptables rules on the host. Tests start their own private daemons.
  guard=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  status=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
  [[ -z $guard ]] || rm -f /usr/sbin/policy-rc.d
  exit "$status"
fi
