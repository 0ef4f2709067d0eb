#!/usr/bin/env bash
# Proxy overhead benchmark: wrk against a fast nginx upstream, (a) directly,
# (b) through nginx as a reverse proxy, (c) through the gateway with one
# worker thread. See bench/README.md for the layout and how to read results.
#
# Usage: bench/proxy.sh [--no-build] [--tracing] [--resilience] [--edge] [--json FILE]
#
# --tracing adds two gateway cases exporting traces over OTLP to the embedded
# trace store (`chaos traces`, on the upstream's CPU): 1% and 100% of new
# traces sampled. The plain gateway case has trace export off.
#
# --resilience adds a gateway case with the whole resilience stack configured
# (breaker, outlier detection, limits, retries with a budget, a static
# fallback and a header-controlled fault filter) on a healthy upstream: the
# per-request cost of the checks when nothing fails.
#
# --edge adds a gateway case with the edge stack on: JWT authentication (HS256;
# wrk sends a valid token), a local rate limit keyed by client IP and the token's
# subject (set high enough never to refuse), and the request limits (always on).
#
# Environment (defaults in brackets):
#   BENCH_PROXY_CPU [0]     CPU of the proxy under test (and of the upstream in the direct case)
#   BENCH_CLIENT_CPU [1]    CPU of wrk
#   BENCH_UPSTREAM_CPU [1]  CPU of the upstream in the proxied cases
#   BENCH_DURATION [10s]    measured wrk run per case (wrk syntax: 10s, 1m)
#   BENCH_WARMUP [2s]       unmeasured wrk run before each measured one
#   BENCH_CONNECTIONS [50]  wrk connections
#
# Exit codes: 0 measured; 1 a server under test answered wrongly (not 200, wrong
# body, or wrk saw non-2xx responses); 2 bad usage; 3 the harness itself failed
# (missing tool, build failed, a server did not start), so there is no result.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(dirname "$BENCH_DIR")
readonly BENCH_DIR ROOT_DIR

PROXY_CPU=${BENCH_PROXY_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
UPSTREAM_CPU=${BENCH_UPSTREAM_CPU:-1}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-50}

# 64 bytes, so responses are small and the benchmark stays about per-request
# proxy cost rather than copying bytes.
readonly BODY=ok-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY
readonly URL_PATH=/bench/hello

# === output and exits ===

log() { printf 'bench: %s\n' "$*" >&2; }
die() { # CODE MESSAGE...
    local code=$1
    shift
    printf 'bench: error: %s\n' "$*" >&2
    exit "$code"
}
usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# === process tracking and cleanup ===

PIDS=()
RUN_DIR=
FAILED=1

stop_pid() { # PID
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    # Bounded: a server that ignores SIGTERM must not hang the cleanup.
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

forget_pid() { # PID
    local keep=() p
    for p in "${PIDS[@]}"; do
        [[ $p == "$1" ]] || keep+=("$p")
    done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

cleanup() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do
        stop_pid "$p"
    done
    if [[ -n $RUN_DIR && -d $RUN_DIR ]]; then
        # Logs are the only clue after a failed run; keep them then.
        if ((FAILED)); then
            log "logs kept in $RUN_DIR"
        else
            rm -rf "$RUN_DIR"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# === arguments and environment checks ===

BUILD=1
# Extra request headers for curl and wrk (the edge case's bearer token).
AUTH_WRK=()
AUTH_CURL=()
TRACING=0
RESILIENCE=0
EDGE=0
JSON_OUT=
while (($#)); do
    case $1 in
        --no-build) BUILD=0 ;;
        --tracing) TRACING=1 ;;
        --resilience) RESILIENCE=1 ;;
        --edge) EDGE=1 ;;
        --json)
            (($# >= 2)) || die 2 "--json needs a file"
            JSON_OUT=$2
            shift
            ;;
        --json=*) JSON_OUT=${1#--json=} ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die 2 "unknown argument: $1"
            ;;
    esac
    shift
done

# Checked now rather than after a minute of measuring.
if [[ -n $JSON_OUT && ! -d $(dirname "$JSON_OUT") ]]; then
    die 2 "--json: directory $(dirname "$JSON_OUT") does not exist"
fi
for var in PROXY_CPU CLIENT_CPU UPSTREAM_CPU CONNECTIONS; do
    [[ ${!var} =~ ^[0-9]+$ ]] || die 2 "BENCH_$var must be a non-negative integer, got '${!var}'"
done
((CONNECTIONS > 0)) || die 2 "BENCH_CONNECTIONS must be at least 1"
for var in DURATION WARMUP; do
    [[ ${!var} =~ ^[1-9][0-9]*[smh]?$ ]] || die 2 "BENCH_$var must look like 10s or 1m, got '${!var}'"
done

missing=()
for tool in wrk nginx taskset curl; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    die 3 "missing: ${missing[*]} (on Debian/Ubuntu: apt-get install wrk nginx-light util-linux curl)"
fi
for cpu in "$PROXY_CPU" "$CLIENT_CPU" "$UPSTREAM_CPU"; do
    taskset -c "$cpu" true 2>/dev/null ||
        die 3 "cannot pin to CPU $cpu (this machine has $(nproc) usable); set BENCH_*_CPU"
done

GATEWAY_BIN=${CARGO_TARGET_DIR:-$ROOT_DIR/target}/release/gateway
CHAOS_BIN=${CARGO_TARGET_DIR:-$ROOT_DIR/target}/release/chaos
if ((BUILD)); then
    log "building the gateway and chaos (release)"
    (cd "$ROOT_DIR" && cargo build --release -p gateway -p chaos) || die 3 "cargo build failed"
fi
[[ -x $GATEWAY_BIN ]] || die 3 "no gateway binary at $GATEWAY_BIN (run without --no-build)"
((TRACING == 0)) || [[ -x $CHAOS_BIN ]] || die 3 "no chaos binary at $CHAOS_BIN (run without --no-build)"

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gateway-bench.XXXXXX")

# === config rendering ===

# nginx refuses `user` when not root, and as root it would drop to `nobody`,
# which cannot write the temp dirs under RUN_DIR.
USER_DIRECTIVE=
if ((EUID == 0)); then
    USER_DIRECTIVE='user root root;'
fi

# Debian's nginx is built with absolute temp paths under /var/lib/nginx, which
# a non-root user cannot create. Point every compiled-in module's path at
# RUN_DIR; naming a module that was built out would be a config error.
temp_paths() {
    local features module
    features=$(nginx -V 2>&1)
    printf '    client_body_temp_path %s/client_body;\n' "$RUN_DIR"
    for module in proxy fastcgi uwsgi scgi; do
        [[ $features == *"--without-http_${module}_module"* ]] ||
            printf '    %s_temp_path %s/%s;\n' "$module" "$RUN_DIR" "$module"
    done
}
TEMP_PATHS=$(temp_paths)

render() { # TEMPLATE OUT KEY=VALUE...
    local text out=$2 kv
    text=$(<"$1")
    shift 2
    for kv in "$@"; do
        text=${text//"@${kv%%=*}@"/"${kv#*=}"}
    done
    if [[ $text =~ @[A-Z_]+@ ]]; then
        die 3 "placeholder ${BASH_REMATCH[0]} left unfilled in $out"
    fi
    printf '%s\n' "$text" >"$out"
}

# === ports and readiness ===

USED_PORTS=" "
# Sets FREE_PORT (not printed: a subshell would lose USED_PORTS). Probes below
# the kernel's ephemeral range (32768+ on Linux by default), so a port found
# free is not then taken as a source port by wrk or a proxy before nginx binds.
free_port() {
    local port i
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 12000))
        [[ $USED_PORTS == *" $port "* ]] && continue
        # Refused means nothing listens there.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            USED_PORTS+="$port "
            FREE_PORT=$port
            return 0
        fi
    done
    die 3 "no free loopback port found"
}

wait_http() { # URL PID NAME
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$2" 2>/dev/null || die 3 "$3 exited during startup (logs in $RUN_DIR)"
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.1
    done
    die 3 "$3 did not answer at $1 within 10s"
}

# Proves the path under test really reaches the upstream: a proxy answering
# 404 or 502 fast would otherwise post a great score.
check_response() { # URL NAME
    local status body_file=$RUN_DIR/check.body
    status=$(curl -s -o "$body_file" -w '%{http_code}' --max-time 5 "${AUTH_CURL[@]}" "$1") || status=000
    [[ $status == 200 ]] || die 1 "$2 answered $1 with status $status, expected 200"
    [[ $(<"$body_file") == "$BODY" ]] ||
        die 1 "$2 answered $1 with body '$(head -c 200 "$body_file")', expected the upstream's"
}

# === servers ===

start_nginx() { # TEMPLATE NAME CPU PORT [KEY=VALUE...]; sets STARTED_PID
    local template=$1 name=$2 cpu=$3 port=$4
    shift 4
    local conf=$RUN_DIR/$name.conf
    mkdir -p "$RUN_DIR/$name"
    render "$BENCH_DIR/$template" "$conf" RUN_DIR="$RUN_DIR" USER_DIRECTIVE="$USER_DIRECTIVE" \
        TEMP_PATHS="$TEMP_PATHS" PORT="$port" BODY="$BODY" "$@"
    # -e: nginx opens its default error log before reading the config.
    taskset -c "$cpu" nginx -p "$RUN_DIR/$name" -c "$conf" -e "$RUN_DIR/$name.error.log" \
        >"$RUN_DIR/$name.out" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    wait_http "http://127.0.0.1:$port/" "$STARTED_PID" "$name nginx"
}

start_gateway() { # CPU UPSTREAM_PORT [TRACING_YAML [UPSTREAM_YAML ROUTE_YAML [TOP_YAML]]]; sets STARTED_PID and GATEWAY_ADDR
    local cpu=$1 conf=$RUN_DIR/gateway.yaml out=$RUN_DIR/gateway.out line i
    render "$BENCH_DIR/gateway.yaml" "$conf" UPSTREAM_PORT="$2" TRACING="${3:-}" \
        UPSTREAM_EXTRA="${4:-}" ROUTE_EXTRA="${5:-}" TOP_EXTRA="${6:-}"
    "$GATEWAY_BIN" validate --config "$conf" >/dev/null 2>"$RUN_DIR/gateway.validate" ||
        die 3 "gateway rejected $conf: $(cat "$RUN_DIR/gateway.validate")"
    # A RUST_LOG left in the caller's shell (say, debug) would turn this into
    # a logging benchmark.
    env -u RUST_LOG taskset -c "$cpu" "$GATEWAY_BIN" run --config "$conf" --worker-threads 1 \
        >"$out" 2>"$RUN_DIR/gateway.log" &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    GATEWAY_ADDR=
    for ((i = 0; i < 100; i++)); do
        kill -0 "$STARTED_PID" 2>/dev/null ||
            die 3 "gateway exited during startup: $(tail -n 5 "$RUN_DIR/gateway.log")"
        line=$(grep -m1 '^listening ' "$out" || true)
        if [[ $line =~ data=([^ ]+) ]]; then
            GATEWAY_ADDR=${BASH_REMATCH[1]}
            break
        fi
        sleep 0.1
    done
    [[ -n $GATEWAY_ADDR ]] || die 3 "gateway printed no 'listening' line within 10s"
    wait_http "http://$GATEWAY_ADDR/" "$STARTED_PID" gateway
}

start_trace_store() { # CPU; sets STARTED_PID and OTLP_ADDR
    local out=$RUN_DIR/traces.out line i
    taskset -c "$1" "$CHAOS_BIN" traces --otlp-listen 127.0.0.1:0 --query-listen 127.0.0.1:0 \
        >"$out" 2>"$RUN_DIR/traces.log" &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    OTLP_ADDR=
    for ((i = 0; i < 100; i++)); do
        line=$(grep -m1 '^listening ' "$out" || true)
        if [[ $line =~ otlp=([^ ]+) ]]; then
            OTLP_ADDR=${BASH_REMATCH[1]}
            return
        fi
        sleep 0.1
    done
    die 3 "chaos traces printed no 'listening' line within 10s"
}

# Runs a command in the background and waits for it: bash defers traps while
# a foreground child runs, so a TERM to this script would otherwise wait out
# a whole wrk run, and the child would outlive the cleanup.
run_tracked() { # OUT CMD...
    local out=$1 pid rc=0
    shift
    "$@" >"$out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget_pid "$pid"
    return "$rc"
}

stop() { # PID
    stop_pid "$1"
    forget_pid "$1"
}

# === measurement ===

# wrk prints latencies with their own unit (us, ms, s, m); normalise to ms.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 \
            : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
        if (f < 0) exit 1
        printf "%.3f", n * f
    }'
}

declare -A RPS P50 P99 ERRORS SERVER_BUSY CLIENT_BUSY

# Also records how busy the server's CPU and the client's CPU were: a proxy
# below ~100% was not the bottleneck, and its score is a floor set by the
# client side. Fails loudly on non-2xx: wrk counts them as ordinary requests, so a proxy
# answering errors would otherwise look fast. Socket errors are reported, not
# fatal, since a few timeouts under saturation are a result, not a harness bug.
run_wrk() { # CASE URL SERVER_PID
    local name=$1 url=$2 pid=$3 out=$RUN_DIR/wrk-$1.txt non2xx rps p50 p99 errors
    local server_before client_before
    log "$name: warm-up $WARMUP, then $DURATION with $CONNECTIONS connections"
    run_tracked "$out.warmup" taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "${AUTH_WRK[@]}" "$url" ||
        die 3 "$name: wrk warm-up failed: $(cat "$out.warmup")"
    server_before=$(cpu_times "$PROXY_CPU")
    client_before=$(cpu_times "$CLIENT_CPU")
    run_tracked "$out" taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "${AUTH_WRK[@]}" "$url" ||
        die 3 "$name: wrk failed: $(cat "$out")"
    SERVER_BUSY[$name]=$(cpu_busy "$server_before" "$(cpu_times "$PROXY_CPU")")
    CLIENT_BUSY[$name]=$(cpu_busy "$client_before" "$(cpu_times "$CLIENT_CPU")")
    kill -0 "$pid" 2>/dev/null || die 1 "$name: the server under test died during the run"

    non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' "$out.warmup" "$out" | paste -sd+ -)
    if [[ -n $non2xx ]]; then
        cat "$out" >&2
        die 1 "$name: wrk got non-2xx/3xx responses ($non2xx); see above"
    fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    [[ -n $rps && -n $p50 && -n $p99 ]] || die 3 "$name: cannot parse wrk output: $(cat "$out")"
    # "Socket errors: connect 0, read 0, write 0, timeout 0", only when nonzero.
    errors=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
    errors=${errors:-0}
    if ((errors > 0)); then
        log "$name: WARNING: $(grep 'Socket errors' "$out" | sed 's/^ *//')"
    fi

    RPS[$name]=$rps
    P50[$name]=$(to_ms "$p50") || die 3 "$name: unknown latency unit in '$p50'"
    P99[$name]=$(to_ms "$p99") || die 3 "$name: unknown latency unit in '$p99'"
    ERRORS[$name]=$errors
}

# /proc/stat's line for one CPU ("cpu3 ...") or, with no argument, all ("cpu ...").
cpu_times() { # [CPU]
    grep -m1 "^cpu${1-} " /proc/stat
}

# Percent of time the CPU was busy between two cpu_times samples.
cpu_busy() { # BEFORE AFTER
    awk -v a="$1" -v b="$2" 'BEGIN {
        # user..steal only: guest time is already counted in user.
        n = split(a, x); split(b, y)
        for (i = 2; i <= 9 && i <= n; i++) {
            d = y[i] - x[i]; total += d
            if (i == 5 || i == 6) idle += d   # idle, iowait
        }
        printf "%d", (total > 0) ? 100 * (total - idle) / total : 0
    }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }

# === the run ===

# Anything else running (a cargo build, say) lands on the pinned CPUs too and
# can swing results by 2x; say so rather than let a noisy run pass as clean.
# Sampled over a second, since the load average still carries a previous run
# of this script for minutes.
before=$(cpu_times)
sleep 1
busy=$(cpu_busy "$before" "$(cpu_times)")
if ((busy > 10)); then
    log "WARNING: the CPUs are ${busy}% busy before starting; results will be noisy"
fi

log "CPUs: proxy $PROXY_CPU, client $CLIENT_CPU, upstream $UPSTREAM_CPU (direct case: upstream on $PROXY_CPU)"

# (a) Direct. The upstream is the server under test here, so it gets the
# proxy's CPU and does not share one with wrk.
free_port
port=$FREE_PORT
start_nginx upstream.nginx.conf upstream "$PROXY_CPU" "$port"
upstream_pid=$STARTED_PID
check_response "http://127.0.0.1:$port$URL_PATH" "upstream nginx"
run_wrk direct "http://127.0.0.1:$port$URL_PATH" "$upstream_pid"
stop "$upstream_pid"

# The proxied cases share one upstream, moved to the client's side of the
# machine so the proxy has its CPU to itself.
free_port
upstream_port=$FREE_PORT
start_nginx upstream.nginx.conf upstream "$UPSTREAM_CPU" "$upstream_port"
upstream_pid=$STARTED_PID

# (b) nginx as reverse proxy.
free_port
port=$FREE_PORT
start_nginx proxy.nginx.conf proxy "$PROXY_CPU" "$port" UPSTREAM_PORT="$upstream_port"
proxy_pid=$STARTED_PID
check_response "http://127.0.0.1:$port$URL_PATH" "nginx proxy"
run_wrk nginx "http://127.0.0.1:$port$URL_PATH" "$proxy_pid"
stop "$proxy_pid"

# (c) The gateway, one worker thread, so it competes with one nginx worker.
start_gateway "$PROXY_CPU" "$upstream_port"
gateway_pid=$STARTED_PID
check_response "http://$GATEWAY_ADDR$URL_PATH" gateway
run_wrk gateway "http://$GATEWAY_ADDR$URL_PATH" "$gateway_pid"
stop "$gateway_pid"
CASES=(direct nginx gateway)

# (d) Optional: the whole resilience stack on a healthy upstream.
if ((RESILIENCE)); then
    upstream_extra="    circuit_breaker: {}
    outlier_detection: {}
    limits: { max_connections: 4096, max_pending: 4096, max_requests: 4096 }"
    route_extra="    per_try_timeout: 2s
    retry: { attempts: 3 }
    fallback: { static: { status: 503, body: 'degraded' } }
    fault: { abort: { status: 503, percent: 100% }, header_control: true }"
    start_gateway "$PROXY_CPU" "$upstream_port" "" "$upstream_extra" "$route_extra"
    gateway_pid=$STARTED_PID
    check_response "http://$GATEWAY_ADDR$URL_PATH" "gateway (resilience stack)"
    run_wrk gateway_resilient "http://$GATEWAY_ADDR$URL_PATH" "$gateway_pid"
    stop "$gateway_pid"
    CASES+=(gateway_resilient)
fi

# (e) Optional: the edge stack: JWT (HS256), a rate limit that never refuses, request limits.
if ((EDGE)); then
    secret_file=$RUN_DIR/jwt.secret
    secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s' "$secret" >"$secret_file"
    b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
    jwt_head=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
    jwt_body=$(printf '{"iss":"bench","aud":"bench","sub":"wrk","exp":%d}' "$(($(date +%s) + 3600))" | b64url)
    jwt_sig=$(printf '%s.%s' "$jwt_head" "$jwt_body" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
    AUTH_WRK=(-H "Authorization: Bearer $jwt_head.$jwt_body.$jwt_sig")
    AUTH_CURL=(-H "Authorization: Bearer $jwt_head.$jwt_body.$jwt_sig")
    top_extra="auth:
  providers:
    bench:
      issuer: bench
      audiences: [bench]
      algorithms: [HS256]
      secret_file: $secret_file"
    route_extra="    auth: { provider: bench, forward_claims: { sub: x-user-id } }
    rate_limit: { rate: 1000000/s, burst: 1000000, key: [client_ip, \"claim:sub\"] }"
    start_gateway "$PROXY_CPU" "$upstream_port" "" "" "$route_extra" "$top_extra"
    gateway_pid=$STARTED_PID
    check_response "http://$GATEWAY_ADDR$URL_PATH" "gateway (edge stack)"
    run_wrk gateway_edge "http://$GATEWAY_ADDR$URL_PATH" "$gateway_pid"
    stop "$gateway_pid"
    AUTH_WRK=()
    AUTH_CURL=()
    CASES+=(gateway_edge)
fi

# (f) Optional: the gateway exporting traces at 1% and 100% of new traces.
if ((TRACING)); then
    start_trace_store "$UPSTREAM_CPU"
    store_pid=$STARTED_PID
    for pct in 1 100; do
        ratio_value=$(awk -v p="$pct" 'BEGIN { printf "%.2f", p / 100 }')
        tracing="  otlp_endpoint: http://$OTLP_ADDR
  sampling_ratio: $ratio_value
  export_interval: 1s"
        start_gateway "$PROXY_CPU" "$upstream_port" "$tracing"
        gateway_pid=$STARTED_PID
        check_response "http://$GATEWAY_ADDR$URL_PATH" "gateway (tracing $pct%)"
        run_wrk "gateway_${pct}pct" "http://$GATEWAY_ADDR$URL_PATH" "$gateway_pid"
        stop "$gateway_pid"
        CASES+=("gateway_${pct}pct")
    done
    stop "$store_pid"
fi
kill -0 "$upstream_pid" 2>/dev/null || die 3 "the upstream died during the proxied runs"
stop "$upstream_pid"

# === report ===

vs_nginx=$(ratio "${RPS[gateway]}" "${RPS[nginx]}")
vs_direct=$(ratio "${RPS[gateway]}" "${RPS[direct]}")

row() { printf '%-16s %12s %9s %9s %11s %11s %14s\n' "$@"; }
row case req/s 'p50 ms' 'p99 ms' 'server cpu%' 'client cpu%' 'socket errors'
for name in "${CASES[@]}"; do
    row "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" \
        "${SERVER_BUSY[$name]}" "${CLIENT_BUSY[$name]}" "${ERRORS[$name]}"
done
printf '\nreq/s ratio gateway/nginx:  %s\n' "$vs_nginx"
printf 'req/s ratio gateway/direct: %s\n' "$vs_direct"
if ((RESILIENCE)); then
    printf 'req/s ratio resilience stack/plain: %s\n' "$(ratio "${RPS[gateway_resilient]}" "${RPS[gateway]}")"
fi
if ((EDGE)); then
    printf 'req/s ratio edge stack/plain: %s\n' "$(ratio "${RPS[gateway_edge]}" "${RPS[gateway]}")"
fi
if ((TRACING)); then
    printf 'req/s ratio tracing 1%%/off:   %s\n' "$(ratio "${RPS[gateway_1pct]}" "${RPS[gateway]}")"
    printf 'req/s ratio tracing 100%%/off: %s\n' "$(ratio "${RPS[gateway_100pct]}" "${RPS[gateway]}")"
fi
printf '(%s per case, %s connections, 1 wrk thread; CPUs proxy=%s client=%s upstream=%s)\n' \
    "$DURATION" "$CONNECTIONS" "$PROXY_CPU" "$CLIENT_CPU" "$UPSTREAM_CPU"

if [[ -n $JSON_OUT ]]; then
    {
        printf '{\n'
        printf '  "duration": "%s",\n  "warmup": "%s",\n  "connections": %s,\n  "wrk_threads": 1,\n' \
            "$DURATION" "$WARMUP" "$CONNECTIONS"
        printf '  "cpus": {"proxy": %s, "client": %s, "upstream": %s},\n' \
            "$PROXY_CPU" "$CLIENT_CPU" "$UPSTREAM_CPU"
        printf '  "cases": [\n'
        sep=,
        last=${CASES[${#CASES[@]}-1]}
        for name in "${CASES[@]}"; do
            [[ $name == "$last" ]] && sep=
            printf '    {"case": "%s", "requests_per_second": %s, "p50_ms": %s, "p99_ms": %s, ' \
                "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}"
            printf '"server_cpu_percent": %s, "client_cpu_percent": %s, "socket_errors": %s}%s\n' \
                "${SERVER_BUSY[$name]}" "${CLIENT_BUSY[$name]}" "${ERRORS[$name]}" "$sep"
        done
        printf '  ],\n'
        printf '  "ratios": {"gateway_over_nginx_rps": %s, "gateway_over_direct_rps": %s}\n' \
            "$vs_nginx" "$vs_direct"
        printf '}\n'
    } >"$JSON_OUT"
    log "wrote $JSON_OUT"
fi

FAILED=0
