#!/usr/bin/env bash
# Runs the drill library: every scenario in scenarios/ (or the file or folder given) with
# `chaos run`, then says where the reports went. Exits with chaos run's code: 0 every
# objective passed, 1 one failed, 3 one could not be judged or a drill could not run.
#
# The partition drill needs network namespaces, and the packages the drills start are
# installed when missing: run as root on a fresh machine (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."

# What the drills start: network namespaces and nftables (partition), redis-server.
# shellcheck source=scripts/packages.sh
source scripts/packages.sh
ensure_packages "iproute2|command -v ip" "nftables|command -v nft" "redis-server|command -v redis-server"

path=${1:-scenarios/}
out=target/drills
cargo build --workspace --bins --locked -q
# Reports of an earlier run would read as this one's.
rm -rf "$out"
mkdir -p "$out"
code=0
target/debug/chaos run "$path" --run-dir "$out/runs" \
  --junit "$out/junit.xml" --json "$out/journals.json" --html "$out/report.html" || code=$?
echo
echo "reports: $out/junit.xml (JUnit), $out/journals.json (journals with verdicts),"
echo "         $out/report*.html (one page per drill), $out/runs/ (each drill's run folder)"
exit "$code"
