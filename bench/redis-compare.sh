#!/usr/bin/env bash
# Runs redis-benchmark against `aether-kv serve` and against Debian's
# redis-server in the same run, with the same parameters, and prints a
# markdown table of ops/s (medians over REPS runs, the two servers
# alternating) and Aether's ratio to Redis:
#
#   interval: SYNC_MODE=interval  vs  appendonly yes, appendfsync everysec
#   always:   SYNC_MODE=always    vs  appendonly yes, appendfsync always
#
# each with and without pipelining (-P 16), -c 50 -d 100 -r 1000000.
#
#   bench/redis-compare.sh            # N=200000 requests per run, REPS=3
#   N=1000000 REPS=5 bench/redis-compare.sh
#
# Needs redis-server and redis-benchmark (Debian's redis-server and
# redis-tools; installed with apt-get when missing and running as root).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

n=${N:-200000}
reps=${REPS:-3}
common=(-c 50 -d 100 -r 1000000 -n "$n" -t set,get -q --csv)

. bench/lib.sh
need_redis_tools redis-compare redis-server redis-tools
start_work

# start_servers MODE: starts both servers on fresh data and sets
# aether_port and redis_port.
start_servers() {
  local mode=$1 fsync=everysec
  [ "$mode" = always ] && fsync=always
  rm -rf "$work/a" "$work/r"
  mkdir -p "$work/a" "$work/r"
  aether_port=$(free_port)
  SYNC_MODE=$mode "$work/aether-kv" serve --addr "127.0.0.1:$aether_port" --data-dir "$work/a" 2>"$work/aether.log" &
  pids+=($!)
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/r" --save "" \
    --appendonly yes --appendfsync "$fsync" --daemonize no >"$work/redis.log" 2>&1 &
  pids+=($!)
  wait_ping "$aether_port"
  wait_ping "$redis_port"
}

stop_servers() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}

# rps PORT PIPELINE: one redis-benchmark run; prints "TEST requests/s"
# for SET and GET.
rps() {
  redis-benchmark -p "$1" -P "$2" "${common[@]}" | awk -F'"' '$2 == "SET" || $2 == "GET" { print $2, $4 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "| mode | pipeline | test | aether ops/s | redis ops/s | aether / redis |"
echo "|---|---|---|--:|--:|--:|"
for mode in interval always; do
  start_servers "$mode"
  for pipeline in 1 16; do
    : >"$work/aether.rps"
    : >"$work/redis.rps"
    for _ in $(seq "$reps"); do # alternate, so that noise hits both alike
      rps "$aether_port" "$pipeline" >>"$work/aether.rps"
      rps "$redis_port" "$pipeline" >>"$work/redis.rps"
    done
    for t in SET GET; do
      am=$(awk -v t="$t" '$1 == t { print $2 }' "$work/aether.rps" | median)
      rm_=$(awk -v t="$t" '$1 == t { print $2 }' "$work/redis.rps" | median)
      ratio=$(awk -v a="$am" -v r="$rm_" 'BEGIN { printf "%.2fx", a / r }')
      printf '| %s | %s | %s | %.0f | %.0f | %s |\n' "$mode" "$pipeline" "$t" "$am" "$rm_" "$ratio"
    done
  done
  stop_servers
done
echo
echo "redis-benchmark ${common[*]} [-P 1|16]; medians of $reps runs, servers alternating; $(nproc) cores; $(redis-server --version | awk '{print $3}')"
