#!/usr/bin/env bash
# Runs the drill library: every scenario in scenarios/ (or the file or folder given) with
# `chaos run`, then says where the reports went. Exits with chaos run's code: 0 every
# objective passed, 1 one failed, 3 one could not be judged or a drill could not run.
#
# The partition drill needs network namespaces: run as root (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."

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
