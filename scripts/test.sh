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

# shellcheck source=scripts/packages.sh
source scripts/packages.sh
ensure_packages "${PACKAGES[@]}"

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
