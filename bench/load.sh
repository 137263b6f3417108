#!/usr/bin/env bash
# Load benchmark of flowline (issue 6): builds the server, starts it on SQLite (a temp file)
# and, when PostgreSQL answers on 127.0.0.1:5432, on PostgreSQL (a schema it creates and
# drops), seeds the data set over the API (bench/seed.py), loads each hot path with wrk on
# loopback and prints one table: req/s, p50, p99, the server's peak RSS and the fraction of
# /server/ping throughput. The durable run queue: async calls acknowledged per second, the
# time from acknowledgement to run start, runs completed per second (from flowline_runs).
# Then, unless quick, the growth benchmarks (10,000 flows).
#
#   bash bench/load.sh            # BENCH_SECONDS (15) per path, release build, growth too
#   bash bench/load.sh --quick    # 2 s per path, debug build, no growth: what CI runs
#   bash bench/load.sh --sleepers # only the 10,000 sleeping async runs: 512 workers, then
#                                 # one worker per run (the server restarted in between)
#
# Options: --quick, --release / --debug (which build; release unless quick), --no-build (the
# binary as it is), --sqlite / --postgres (one backend only), --growth / --no-growth,
# --sleepers.
# Environment: BENCH_SECONDS (15), BENCH_CONNECTIONS (32), BENCH_THREADS (1),
# BENCH_GROWTH_FLOWS (10000), BENCH_GROWTH_OPS (10), BENCH_CHAIN (1000), BENCH_FANOUT (10000),
# BENCH_SLEEPERS (10000), BENCH_PACED (3000 calls; 200 quick), BENCH_PACED_RATE (500 a second),
# BENCH_DRAIN (20000 preloaded runs; 500 quick),
# BENCH_BIN (a flowline binary to run instead of building one),
# BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/test?sslmode=disable), BENCH_PG_OPTIONS
# (appended to the server's PostgreSQL `options`), CARGO_TARGET_DIR.
# The server's own settings (FLOW_RUNS_CONCURRENCY, FLOW_RUNS_QUEUE_MAX...) pass through.
#
# It asserts no timing: it fails only when it cannot build, start or seed the server.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

quick=0
build=1
profile=""
backends="sqlite postgres"
growth=""
only_sleepers=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --debug) profile=debug ;;
    --release) profile=release ;;
    --no-build) build=0 ;;
    --sqlite) backends=sqlite ;;
    --postgres) backends=postgres ;;
    --growth) growth=1 ;;
    --no-growth) growth=0 ;;
    --sleepers) only_sleepers=1 ;;
    -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  # A smoke run: it keeps the harness from rotting, its figures mean little. The debug build
  # is the one `cargo test` has mostly built already; a release build with LTO takes minutes.
  seconds="${BENCH_SECONDS_QUICK:-2}"
  growth="${growth:-0}"
  profile="${profile:-debug}"
  replica_edits="${BENCH_REPLICA_EDITS:-5}"
  paced="${BENCH_PACED:-200}"
  drain="${BENCH_DRAIN:-500}"
else
  seconds="${BENCH_SECONDS:-15}"
  growth="${growth:-1}"
  profile="${profile:-release}"
  replica_edits="${BENCH_REPLICA_EDITS:-100}"
  paced="${BENCH_PACED:-3000}"
  drain="${BENCH_DRAIN:-20000}"
fi
paced_rate="${BENCH_PACED_RATE:-500}"
connections="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-1}"
growth_flows="${BENCH_GROWTH_FLOWS:-10000}"
growth_ops="${BENCH_GROWTH_OPS:-10}"
chain_len="${BENCH_CHAIN:-1000}"
fanout_len="${BENCH_FANOUT:-10000}"
sleepers="${BENCH_SLEEPERS:-10000}"
# Without TLS: on loopback it only costs CPU (every message encrypted, and about 170 ms of
# handshake at start-up), and Directus's node-postgres client, which the reference figures
# come from, does not use it unless configured to.
pg_url="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
# More server settings for the server's PostgreSQL sessions, URL-encoded, appended to its
# `options` (which sets search_path), e.g. %20-c%20synchronous_commit%3Doff.
pg_options="${BENCH_PG_OPTIONS:-}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowline/target}"
token="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

say() { echo "bench: $*" >&2; }

# --- tools --------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  say "installing wrk"
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    timeout 300 apt-get update -qq >/dev/null 2>&1 || true
    timeout 300 apt-get install -y -qq wrk >/dev/null 2>&1 || true
  fi
  command -v wrk >/dev/null 2>&1 || { say "wrk is missing and could not be installed"; exit 1; }
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is missing"; exit 1; }
done

# --- build --------------------------------------------------------------------------------
if [ -n "${BENCH_BIN:-}" ]; then
  say "not building: using BENCH_BIN=$BENCH_BIN"
elif [ "$build" = 0 ]; then
  say "not building: using the $profile binary as it is"
elif [ "$profile" = release ]; then
  say "cargo build --release -p flowline"
  cargo build --release --locked -p flowline >&2 || { say "build failed"; exit 1; }
else
  say "cargo build -p flowline"
  cargo build --locked -p flowline >&2 || { say "build failed"; exit 1; }
fi
bin="${BENCH_BIN:-$CARGO_TARGET_DIR/$profile/flowline}"
[ -x "$bin" ] || { say "no binary at $bin"; exit 1; }

# --- scratch space, servers and clean-up --------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/flowline-bench.XXXXXX")"
server_pid=""
sampler_pid=""
pg_schema=""

stop_server() {
  if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null; sampler_pid=""; fi
  if [ -n "$server_pid" ]; then
    kill -INT "$server_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
  fi
}
drop_schema() {
  if [ -n "$pg_schema" ]; then
    psql_run "DROP SCHEMA IF EXISTS \"$pg_schema\" CASCADE" >/dev/null 2>&1
    pg_schema=""
  fi
}
replica_pids=()
stop_replicas() {
  local pid
  for pid in "${replica_pids[@]}"; do kill -INT "$pid" 2>/dev/null; done
  for pid in "${replica_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  replica_pids=()
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  stop_replicas
  stop_server
  drop_schema
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

postgres_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}
psql_run() {
  if command -v psql >/dev/null 2>&1; then
    timeout 30 psql -q -X -v ON_ERROR_STOP=1 "$pg_url" -c "$1"
  else
    return 1
  fi
}

# A port below Linux's ephemeral range (32768 and up), where the local ends of outgoing
# connections (wrk's, the server's own to PostgreSQL) would otherwise collide with it.
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  return 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Starts the server on $1 (a DATABASE_URL); sets server_pid, base, db_url, workers (its
# FLOW_RUNS_CONCURRENCY) and startup_ms (from the spawn until /server/ping answers).
start_server() {
  local url="$1" log="$2" port started attempt mark
  db_url="$url"
  workers="${FLOW_RUNS_CONCURRENCY:-512}"
  # A port found free can still be taken before the server binds it: then another one.
  for attempt in 1 2 3; do
    port="$(free_port)" || { say "no free port"; return 1; }
    base="http://127.0.0.1:$port"
    mark="$(wc -l <"$log" 2>/dev/null || echo 0)"
    started="$(now_ms)"
    DATABASE_URL="$url" HOST=127.0.0.1 PORT="$port" ADMIN_TOKEN="$token" LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
      "$bin" >>"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 12000); do
      if curl -sf -o /dev/null --max-time 1 "$base/server/ping"; then
        startup_ms=$(($(now_ms) - started))
        return 0
      fi
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.005
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      say "the server did not answer within two minutes"
      return 1
    fi
    server_pid=""
    if [ "$attempt" -lt 3 ] && tail -n +"$((mark + 1))" "$log" | grep -q "Address already in use"; then
      say "port $port was taken meanwhile; trying another"
      continue
    fi
    say "the server exited; its log:"
    tail -n +"$((mark + 1))" "$log" | tail -20 >&2
    return 1
  done
}

rss_kib() { local k v _; while read -r k v _; do [ "$k" = VmRSS: ] && { echo "$v"; return; }; done <"/proc/$1/status"; echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Samples the server's RSS every 50 ms into $1 (the peak, KiB) until killed.
sample_rss() {
  local out="$1" peak=0 v
  while kill -0 "$server_pid" 2>/dev/null; do
    v="$(rss_kib "$server_pid")"
    if [ "$v" -gt "$peak" ]; then peak="$v"; echo "$peak" >"$out"; fi
    sleep 0.05
  done
}

# wrk's latency text (1.23ms, 850.00us, 1.02s) in milliseconds.
to_ms() {
  awk -v t="$1" 'BEGIN {
    if (t ~ /us$/) { sub(/us$/, "", t); printf "%.2f", t / 1000 }
    else if (t ~ /ms$/) { sub(/ms$/, "", t); printf "%.2f", t }
    else if (t ~ /m$/) { sub(/m$/, "", t); printf "%.0f", t * 60000 }
    else if (t ~ /s$/) { sub(/s$/, "", t); printf "%.1f", t * 1000 }
    else printf "?" }'
}

results="$work/results.tsv"
: >"$results"

# Loads one path: run_wrk BACKEND LABEL PATH [lua script] [auth]. Appends a row to $results.
run_wrk() {
  local backend="$1" label="$2" path="$3" script="${4:-}" auth="${5:-}"
  local out="$work/wrk.$backend.$label"
  local args=(-t"$threads" -c"$connections" -d"${seconds}s" --latency --timeout 5s)
  [ -n "$script" ] && args+=(-s "$script")
  [ -n "$auth" ] && args+=(-H "Authorization: Bearer $token")
  local peak_file="$work/peak.$backend.$label"
  echo 0 >"$peak_file"
  sample_rss "$peak_file" &
  sampler_pid=$!
  timeout $((seconds + 30)) wrk "${args[@]}" "$base$path" >"$out" 2>&1
  kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null; sampler_pid=""
  local rps p50 p99 errors peak
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
  p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
  errors="$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")"
  peak="$(cat "$peak_file")"
  [ -n "$rps" ] || { say "$label on $backend: wrk gave no figures"; sed 's/^/  wrk: /' "$out" >&2; rps=0; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$label" "$path" "$rps" "$p50" "$p99" "$peak" "$errors" >>"$results"
  say "$(printf '%-8s %-14s %10s req/s  p50 %7s ms  p99 %7s ms  peak RSS %6s MiB  errors %s' \
    "$backend" "$label" "$rps" "$p50" "$p99" "$(mib "$peak")" "$errors")"
}

# wrk scripts for the POST paths.
cat >"$work/graphql.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"{ flows(limit:25){ id name status operations { key type } } }"}'
EOF
cat >"$work/trigger.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"n": 3, "name": "Ada"}'
EOF

growth_rows="$work/growth.tsv"
: >"$growth_rows"
note_growth() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$growth_rows"; say "$1 growth: $2: $3"; }

# --- one backend --------------------------------------------------------------------------
bench_backend() {
  local backend="$1" url="$2" ids null_id all_id idle
  local log="$work/server.$backend.log"
  say "== $backend"
  start_server "$url" "$log" || return 1
  say "started in ${startup_ms} ms (empty database)"
  ids="$(timeout 300 python3 bench/seed.py base "$base" "$token")" || { say "seeding failed"; return 1; }
  read -r null_id all_id <<<"$ids"
  # A few requests of each kind before measuring, then let the server settle.
  for _ in 1 2 3; do
    curl -sf -o /dev/null -H "Authorization: Bearer $token" "$base/flows?limit=25"
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"n":3,"name":"Ada"}' "$base/flows/trigger/$null_id"
  done
  sleep 1
  idle="$(rss_kib "$server_pid")"
  printf '%s\tidle\t-\t-\t-\t-\t%s\t-\n' "$backend" "$idle" >>"$results"
  say "idle RSS $(mib "$idle") MiB"
  run_wrk "$backend" ping "/server/ping"
  run_wrk "$backend" rest_list "/flows?limit=25" "" auth
  run_wrk "$backend" graphql_list "/graphql/system" "$work/graphql.lua" auth
  run_wrk "$backend" webhook_null "/flows/trigger/$null_id" "$work/trigger.lua"
  run_wrk "$backend" webhook_all "/flows/trigger/$all_id" "$work/trigger.lua"
  bench_queue "$backend" "$log" || return 1
  if [ "$growth" = 1 ]; then
    # The fan-out and the sleepers on their own first (the server holds the 50 flows above),
    # then again with the growth set loaded: the two memory figures answer different
    # questions, what the load itself costs and how it adds up on a large installation.
    bench_fanout "$backend" 0 "50 flows loaded"
    bench_sleepers "$backend" 0 "50 flows loaded"
    bench_growth "$backend" "$url" "$log"
  fi
  stop_server
}

# --- the durable run queue ----------------------------------------------------------------
# An async webhook flow of the three operations (accountability null) loaded flat out like
# webhook_null: calls acknowledged per second (a 204 means the run is in flowline_runs;
# beyond FLOW_RUNS_QUEUE_MAX queued runs the server answers 503, counted as errors). Then,
# read from flowline_runs once every run of the flow has ended: runs by status against the
# calls acknowledged, started_at - enqueued_at, and runs completed per second while the
# calls were sent and after they stopped (the workers draining what was left, with no HTTP
# load). Then $paced calls at $paced_rate a second to another such flow: the time from
# acknowledgement to start when the workers are not behind. Then the workers alone: the
# server stopped, $drain runs queued in the database (each starting as the last paced run
# did), the server started again, and timed from the first start to the last finish.
bench_queue() {
  local backend="$1" log="$2" ids flood paced_flow drain_flow out requests refused acked wrk_s t0 t1 wait_s answer p_acked p_refused m r
  ids="$(timeout 60 python3 bench/seed.py queue "$base" "$token")" || { say "queue seeding failed"; return 1; }
  read -r flood paced_flow drain_flow <<<"$ids"
  t0="$(now_ms)"
  run_wrk "$backend" queue_ack "/flows/trigger/$flood" "$work/trigger.lua"
  t1="$(now_ms)"
  out="$work/wrk.$backend.queue_ack"
  requests="$(awk '/ requests in / { print $1 }' "$out")"
  wrk_s="$(awk '/ requests in / { sub(/s,?$/, "", $4); print $4 }' "$out")"
  refused="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
  acked=$((${requests:-0} - ${refused:-0}))
  note_growth "$backend" "queue_ack: async calls acknowledged (2xx) / refused (non-2xx), wrk -c$connections ${seconds} s" \
    "$acked / ${refused:-0}: $(awk -v n="$acked" -v t="${wrk_s:-0}" 'BEGIN { if (t > 0) printf "%.0f", n / t; else printf "?" }') acknowledged/s"
  wait_s=900
  [ "$quick" = 1 ] && wait_s=120
  if timeout $((wait_s + 120)) python3 bench/seed.py runstats "$db_url" "$flood" "$wait_s" "$acked" "$t0" "$t1" >"$work/runs.$backend.flood" 2>"$work/runs.$backend.flood.err"; then
    while IFS=$'\t' read -r m r; do note_growth "$backend" "queue_ack: $m" "$r"; done <"$work/runs.$backend.flood"
  else
    # A build before the queue has no flowline_runs: its async runs live in memory only.
    note_growth "$backend" "queue_ack: runs in flowline_runs" "not read ($(grep -m1 -iE "error|no such" "$work/runs.$backend.flood.err" || tail -1 "$work/runs.$backend.flood.err"))"
    sleep 5
    return 0
  fi
  answer="$(timeout $((paced / ${paced_rate%.*} + 120)) python3 bench/seed.py pace "$base" "$paced_flow" "$paced" "$paced_rate")" || answer="0 ?"
  read -r p_acked p_refused <<<"$answer"
  timeout 240 python3 bench/seed.py runstats "$db_url" "$paced_flow" 120 "$p_acked" >"$work/runs.$backend.paced" || return 0
  while IFS=$'\t' read -r m r; do
    case "$m" in runs:* | ack*) note_growth "$backend" "queue_paced, $paced calls at $paced_rate/s ($p_refused refused): $m" "$r" ;; esac
  done <"$work/runs.$backend.paced"
  stop_server
  timeout 300 python3 bench/seed.py preload "$db_url" "$paced_flow" "$drain_flow" "$drain" || say "preloading $drain runs failed"
  start_server "$db_url" "$log" || return 1
  timeout 1020 python3 bench/seed.py runstats "$db_url" "$drain_flow" 900 "$drain" >"$work/runs.$backend.drain" || return 0
  while IFS=$'\t' read -r m r; do
    m="${m/acknowledged (2xx)/preloaded}"
    case "$m" in runs:* | *"first start"*) note_growth "$backend" "queue_drain, $drain runs queued before start-up, workers alone: $m" "$r" ;; esac
  done <"$work/runs.$backend.drain"
}

# --- growth: 10,000 flows of 10 operations, a long chain ----------------------------------
bench_growth() {
  local backend="$1" url="$2" log="$3" started probe probe_flow probe_op edits chain_id ms_off ms_on
  say "seeding $growth_flows flows of $growth_ops operations"
  started="$(now_ms)"
  timeout 1800 python3 bench/seed.py growth "$base" "$token" "$growth_flows" "$growth_ops" || { say "growth seeding failed"; return 1; }
  note_growth "$backend" "seeding $growth_flows flows over the API" "$(( $(now_ms) - started )) ms"
  probe="$(timeout 60 python3 bench/seed.py probe "$base" "$token")" || return 1
  read -r probe_flow probe_op <<<"$probe"
  # Restart on the same database: start-up with every flow loaded into the plan.
  stop_server
  start_server "$url" "$log" || return 1
  note_growth "$backend" "start-up until /server/ping answers, $growth_flows flows" "$startup_ms ms"
  note_growth "$backend" "RSS idle with $growth_flows flows" "$(mib "$(rss_kib "$server_pid")") MiB"
  run_wrk "$backend" list_filtered "/flows?filter%5Bstatus%5D%5B_eq%5D=inactive&limit=25" "" auth
  edits="$(timeout 300 python3 bench/seed.py edit "$base" "$token" "$probe_flow" "$probe_op" 5)" || return 1
  note_growth "$backend" "edit visible to triggers (PATCH sent -> trigger answers it), 5 edits" "$edits ms"
  chain_id="$(timeout 300 python3 bench/seed.py chain "$base" "$token" "$chain_len" null)" || return 1
  ms_off="$(timeout 600 python3 bench/seed.py time "$base" "$chain_id" 5)" || return 1
  chain_id="$(timeout 300 python3 bench/seed.py chain "$base" "$token" "$chain_len" all)" || return 1
  ms_on="$(timeout 600 python3 bench/seed.py time "$base" "$chain_id" 5)" || return 1
  note_growth "$backend" "chain of $chain_len transforms, per operation (logging off / all)" \
    "$(awk -v a="$ms_off" -v b="$ms_on" -v n="$chain_len" 'BEGIN { printf "%.1f us / %.1f us (run %s ms / %s ms)", a * 1000 / n, b * 1000 / n, a, b }')"
  bench_fanout "$backend" 1 "$growth_flows flows loaded"
  bench_sleepers "$backend" 1 "$growth_flows flows loaded"
}

# --- replicas: three servers on one PostgreSQL schema --------------------------------------
# An edit through the first replica, timed until a trigger on each of the others answers it.
bench_replicas() {
  local url="$1" log="$work/server.replicas.log" bases=() probe probe_flow probe_op latency
  say "== three replicas on one PostgreSQL schema"
  for _ in 1 2 3; do
    start_server "$url" "$log" || { stop_replicas; return 1; }
    replica_pids+=("$server_pid")
    bases+=("$base")
    server_pid=""
  done
  probe="$(timeout 60 python3 bench/seed.py probe "${bases[0]}" "$token")" || { stop_replicas; return 1; }
  read -r probe_flow probe_op <<<"$probe"
  latency="$(timeout 300 python3 bench/seed.py replica_edit "${bases[0]}" "${bases[1]},${bases[2]}" "$token" "$probe_flow" "$probe_op" "$replica_edits")" \
    || { stop_replicas; return 1; }
  note_growth postgres "edit through one replica -> trigger on another answers it (3 replicas, $replica_edits edits x 2 readers)" "$latency"
  stop_replicas
}

# The `trigger` operation over $fanout_len elements, parallel then in batches of 100: total
# time of the webhook and the server's peak RSS meanwhile.
# $2 numbers the seeded flows (one server runs this twice), $3 says what the server holds.
bench_fanout() {
  local backend="$1" set_no="$2" holding="$3" parents parallel batch mode flow ms peak_file before
  parents="$(timeout 60 python3 bench/seed.py fanout "$base" "$token" "$set_no")" || return 1
  read -r parallel batch <<<"$parents"
  for mode in parallel batch; do
    flow="$parallel"; [ "$mode" = batch ] && flow="$batch"
    before="$(rss_kib "$server_pid")"
    peak_file="$work/peak.$backend.fanout.$mode"
    echo "$before" >"$peak_file"
    sample_rss "$peak_file" &
    sampler_pid=$!
    ms="$(timeout 600 python3 bench/seed.py spread "$base" "$flow" "$fanout_len")" || ms="failed"
    kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null; sampler_pid=""
    note_growth "$backend" "trigger operation over $fanout_len elements, $mode ($holding)" \
      "$ms ms, peak RSS $(mib "$(cat "$peak_file")") MiB (before $(mib "$before") MiB)"
  done
}

# $sleepers async webhook runs that each sleep 5 s: memory per run (peak RSS over the idle
# RSS before the burst) and whether every run completed (one activity row each, and the
# runs' statuses in flowline_runs). The runs go through the queue: at most $workers
# (FLOW_RUNS_CONCURRENCY) are in flight, the others wait in flowline_runs, so the last ones
# start after about ceil(N / workers) x 5 s; the completion check waits that long plus a
# minute. With workers >= N every run is in flight at once, as before the queue.
# $2 and $3 as for bench_fanout.
bench_sleepers() {
  local backend="$1" set_no="$2" holding="$3" flow before peak_file ms peak done_runs started ended wait_s in_flight m r status=""
  flow="$(timeout 60 python3 bench/seed.py sleeper "$base" "$token" "$set_no")" || return 1
  sleep 1
  before="$(rss_kib "$server_pid")"
  peak_file="$work/peak.$backend.sleepers"
  echo "$before" >"$peak_file"
  sample_rss "$peak_file" &
  sampler_pid=$!
  in_flight=$((workers < sleepers ? workers : sleepers))
  # shellcheck disable=SC2017 # the number of batches, rounded up, then their 5 s each
  wait_s=$(((sleepers + in_flight - 1) / in_flight * 5 + 60))
  started="$(now_ms)"
  ms="$(timeout 300 python3 bench/seed.py burst "$base" "$flow" "$sleepers")" || ms="failed"
  done_runs="$(timeout $((wait_s + 30)) python3 bench/seed.py runs "$base" "$token" "$flow" "$sleepers" "$wait_s")" || done_runs="?"
  ended="$(now_ms)"
  kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null; sampler_pid=""
  peak="$(cat "$peak_file")"
  if timeout 120 python3 bench/seed.py runstats "$db_url" "$flow" 30 "$sleepers" >"$work/runs.$backend.sleepers" 2>/dev/null; then
    while IFS=$'\t' read -r m r; do
      case "$m" in
        runs:*) status="; flowline_runs: $r" ;;
        # The most runs in flight at once, from their start and finish times: below the
        # workers when the calls took longer to send than a run lasts.
        "in flight:"*) [ "${r:-0}" -gt 0 ] && in_flight="$r" ;;
      esac
    done <"$work/runs.$backend.sleepers"
  fi
  note_growth "$backend" "$sleepers async runs sleeping 5 s each, $workers workers, $holding (sent in $ms ms; all logged $((ended - started)) ms after the first call, waited up to ${wait_s} s)" \
    "$(awk -v p="$peak" -v b="$before" -v n="$sleepers" -v f="$in_flight" 'BEGIN { printf "%.2f KiB per accepted run, %.2f KiB per in-flight run (at most %d at once; peak %.1f MiB, before %.1f MiB)", (p - b) / n, (p - b) / f, f, p / 1024, b / 1024 }'); $done_runs of $sleepers completed (activity)$status"
}

# --sleepers: only the sleepers, on an empty database, with the default workers and then,
# restarted on the same database, with one worker per run (every run in flight at once).
sleepers_backend() {
  local backend="$1" url="$2" log="$work/server.$1.log"
  say "== $backend: $sleepers sleeping async runs"
  start_server "$url" "$log" || return 1
  bench_sleepers "$backend" 0 "empty database"
  stop_server
  FLOW_RUNS_CONCURRENCY="$sleepers" start_server "$url" "$log" || return 1
  bench_sleepers "$backend" 1 "empty database"
  stop_server
}

failed=0
for backend in $backends; do
  case "$backend" in
    sqlite)
      if [ "$only_sleepers" = 1 ]; then
        sleepers_backend sqlite "sqlite://$work/bench.db" || { say "sqlite run failed"; failed=1; }
        stop_server
        continue
      fi
      bench_backend sqlite "sqlite://$work/bench.db" || { say "sqlite run failed"; failed=1; }
      stop_server
      ;;
    postgres)
      if ! postgres_up; then say "PostgreSQL is not reachable on 127.0.0.1:5432: skipped"; continue; fi
      pg_schema="flowline_bench_$$_$(date +%s)"
      if ! psql_run "CREATE SCHEMA \"$pg_schema\"" >/dev/null; then say "cannot create a schema: PostgreSQL skipped"; pg_schema=""; continue; fi
      sep='?'; case "$pg_url" in *\?*) sep='&' ;; esac
      if [ "$only_sleepers" = 1 ]; then
        sleepers_backend postgres "${pg_url}${sep}options=-c%20search_path%3D${pg_schema}${pg_options}" || { say "postgres run failed"; failed=1; }
        stop_server
        drop_schema
        continue
      fi
      bench_backend postgres "${pg_url}${sep}options=-c%20search_path%3D${pg_schema}${pg_options}" || { say "postgres run failed"; failed=1; }
      stop_server
      drop_schema
      pg_schema="flowline_bench_replicas_$$_$(date +%s)"
      if psql_run "CREATE SCHEMA \"$pg_schema\"" >/dev/null; then
        bench_replicas "${pg_url}${sep}options=-c%20search_path%3D${pg_schema}${pg_options}" || { say "replica run failed"; failed=1; }
        drop_schema
      else
        pg_schema=""
      fi
      ;;
  esac
done

# --- the report ---------------------------------------------------------------------------
echo
if [ -n "${BENCH_BIN:-}" ]; then built="binary $BENCH_BIN"; else built="$profile build, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"; fi
echo "flowline load benchmark: $built, wrk -t$threads -c$connections -d${seconds}s, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -s "$results" ] && echo
[ -s "$results" ] && awk -F'\t' '
  BEGIN { printf "| %-8s | %-14s | %-42s | %10s | %8s | %8s | %9s | %7s | %6s |\n", "backend", "path", "request", "req/s", "p50 ms", "p99 ms", "RSS MiB", "x ping", "errors"
          printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "----------", "----------------", "--------------------------------------------", "-----------:", "---------:", "---------:", "----------:", "--------:", "-------:" }
  { rows[NR] = $0; if ($2 == "ping") ping[$1] = $4 }
  END {
    for (i = 1; i <= NR; i++) {
      split(rows[i], f, "\t")
      req = f[3]
      if (f[2] == "ping") req = "GET /server/ping"
      else if (f[2] == "rest_list") req = "GET /flows?limit=25"
      else if (f[2] == "graphql_list") req = "POST /graphql/system flows(limit:25)"
      else if (f[2] == "webhook_null") req = "POST /flows/trigger (accountability null)"
      else if (f[2] == "webhook_all") req = "POST /flows/trigger (accountability all)"
      else if (f[2] == "queue_ack") req = "POST /flows/trigger (async, queued)"
      else if (f[2] == "list_filtered") req = "GET /flows?filter[status]... (growth set)"
      else if (f[2] == "idle") req = "(idle, after seeding)"
      frac = (f[4] != "-" && ping[f[1]] > 0) ? sprintf("%.2f", f[4] / ping[f[1]]) : "-"
      rps = (f[4] == "-") ? "-" : sprintf("%.0f", f[4])
      printf "| %-8s | %-14s | %-42s | %10s | %8s | %8s | %9.1f | %7s | %6s |\n", f[1], f[2], req, rps, f[5], f[6], f[7] / 1024, frac, f[8]
    }
  }' "$results"
if [ -s "$growth_rows" ]; then
  echo
  echo "| backend | measure | result |"
  echo "|---|---|---|"
  awk -F'\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }' "$growth_rows"
fi
exit "$failed"
