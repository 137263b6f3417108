#!/usr/bin/env bash
# Instructions per request of one HTTP path, counted by callgrind: repeatable to a fraction of
# a percent whatever else the machine does, where req/s on these shared 2-core machines moves
# by ±20 % between two runs. Use it to compare two builds of one change; use load.sh for
# throughput and latency.
#
#   bash bench/instructions.sh [--binary PATH] [--requests N] PATH [JSON_BODY]
#   bash bench/instructions.sh '/flows?limit=25'
#   bash bench/instructions.sh /graphql/system '{"query":"{ flows(limit:25){ id name } }"}'
#
# It starts the binary (default: the release build) under callgrind on a fresh SQLite file,
# seeds bench/seed.py's base set, sends N (500) requests one after another, and again with
# none; the difference over N is what one request costs in user space (the server's own
# code, sqlx's and SQLite's, the allocator; not the kernel). A body makes it a POST.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowline/target}"
bin="$CARGO_TARGET_DIR/release/flowline"
requests=500
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) bin="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
path="${1:?a request path, e.g. /flows?limit=25}"
body="${2:-}"
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
[ -x "$bin" ] || { echo "no binary at $bin: cargo build --release first" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
token="instructions-$$"

# Total instructions of one server life: start, seed, $1 requests, SIGTERM.
count() {
  local n="$1" port pid total
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  rm -f "$work"/db* "$work"/callgrind.out*
  # MIMALLOC_PURGE_DELAY set as the server would set it: otherwise it restarts itself with
  # it (crates/server/src/main.rs), and valgrind does not follow that exec.
  DATABASE_URL="sqlite://$work/db?mode=rwc" HOST=127.0.0.1 PORT="$port" ADMIN_TOKEN="$token" LOG_LEVEL=warn \
    MIMALLOC_PURGE_DELAY=0 valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$bin" >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/server/ping" && break
    sleep 0.2
  done
  python3 bench/seed.py base "http://127.0.0.1:$port" "$token" >/dev/null
  for _ in $(seq "$n"); do
    if [ -n "$body" ]; then
      curl -s -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d "$body" "http://127.0.0.1:$port$path"
    else
      curl -s -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$port$path"
    fi
  done
  kill -TERM "$pid"
  wait "$pid" || true
  total="$(sed -n 's/^summary: //p' "$work"/callgrind.out* | head -1)"
  [ -n "$total" ] || { echo "callgrind wrote no summary; the server's log:" >&2; tail -20 "$work/log" >&2; exit 1; }
  echo "$total"
}

with="$(count "$requests")"
without="$(count 0)"
awk -v a="$with" -v b="$without" -v n="$requests" -v p="$path" \
  'BEGIN { printf "%s: %.3f M instructions per request (%d requests)\n", p, (a - b) / n / 1e6, n }'
