#!/usr/bin/env bash
# Runs the quickstart topology: two demo upstreams and the gateway with
# gateway/examples/quickstart.yaml, shows a few requests going through, then keeps running
# until Ctrl-C (or exits at once with --once). Everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

once=false
[[ ${1:-} == "--once" ]] && once=true

cargo build --release --locked --bins -q
bin=target/release
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

logs=$(mktemp -d)
"$bin/chaos" upstream --listen 127.0.0.1:9101 --name demo-1 >"$logs/demo-1.out" 2>"$logs/demo-1.err" &
pids+=($!)
"$bin/chaos" upstream --listen 127.0.0.1:9102 --name demo-2 >"$logs/demo-2.out" 2>"$logs/demo-2.err" &
pids+=($!)
"$bin/gateway" run --config gateway/examples/quickstart.yaml >"$logs/gateway.out" 2>"$logs/gateway.err" &
pids+=($!)

# Wait (bounded) until the gateway is ready: both endpoints probed by its health checks.
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null http://127.0.0.1:9901/readyz 2>/dev/null; then break; fi
  sleep 0.1
done
if ! curl -fsS -o /dev/null http://127.0.0.1:9901/readyz; then
  echo "gateway did not become ready; logs in $logs" >&2
  cat "$logs/gateway.err" >&2
  exit 1
fi

echo "== four requests through the gateway (round robin over demo-1 and demo-2)"
for i in 1 2 3 4; do
  answer=$(curl -fsS "http://127.0.0.1:8080/api/hello?n=$i")
  echo "GET /api/hello?n=$i -> $(grep -o '"upstream":"[^"]*"' <<<"$answer") $(grep -o '"path":"[^"]*"' <<<"$answer")"
done
echo "== upstream health and in-flight requests (admin API)"
curl -fsS http://127.0.0.1:9901/admin/upstreams
echo
if $once; then exit 0; fi
echo "== running: gateway on 127.0.0.1:8080, admin on 127.0.0.1:9901, logs in $logs (Ctrl-C stops)"
wait
