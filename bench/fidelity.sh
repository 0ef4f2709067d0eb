#!/usr/bin/env bash
# Fidelity of drill verdicts (chaos/benches/fidelity.rs): runs the drills of bench/fidelity/
# RUNS times (default 10) with release binaries and compares the reported RTO and breaker
# timings with ground truth. See bench/README.md, "Fidelity".
#
# Usage: bench/fidelity.sh [RUNS]
# Exit codes: 0 every figure within its bound and the same verdicts in every run; 1 not;
# 3 a drill could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bins -q
exec cargo bench --locked -q -p chaos --bench fidelity -- --runs "${1:-10}"
