#!/usr/bin/env bash
# Runs the whole test suite: the README's "run the tests" command, and what CI runs.
#
# On a fresh machine run it as root once: it installs the Debian packages the tests start
# (missing ones only). As another user it only checks that they are there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need, as "package|command that succeeds when it is installed".
PACKAGES=(
  "prometheus|command -v prometheus && command -v promtool"
  "iproute2|command -v ip"
  "nftables|command -v nft"
  "pkg-config|command -v pkg-config"
  "libssl-dev|pkg-config --exists openssl"
  "chromium|command -v chromium"
  "redis-server|command -v redis-server"
)

missing=()
for entry in "${PACKAGES[@]}"; do
  bash -c "${entry#*|}" >/dev/null 2>&1 || missing+=("${entry%%|*}")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts packaged services where it can; the tests start their own instances.
    for service in "${missing[@]}"; do
      service "$service" stop >/dev/null 2>&1 || true
    done
  else
    echo "missing packages: ${missing[*]} (run this script as root once, or apt-get install them)" >&2
    exit 3
  fi
fi

# Cross-binary tests (tests/) start the gateway and chaos binaries: build them first.
cargo build --workspace --bins --locked
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "$@"
  # nextest does not run doctests.
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast "$@"
fi

# The drill library is part of the suite (skipped when the tests were filtered): every
# scenario must pass, as a CI gate on the gateway's resilience.
if (($# == 0)); then
  ./scripts/drills.sh
fi
