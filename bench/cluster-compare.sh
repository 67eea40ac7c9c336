#!/usr/bin/env bash
# Measures a 3-node Aether KV cluster on loopback against a single server,
# in the same run, with redis-benchmark, and prints a markdown table of
# medians over REPS runs (the set-ups alternate) of ops/s, p50 and p99:
#
#   single, always:   one `aether-kv serve`, SYNC_MODE=always (a write is
#                     acknowledged once it is on disk: the same promise as
#                     the cluster's, for one copy)
#   single, interval: one server, SYNC_MODE=interval (fsync every second)
#   cluster, leader:  3 nodes (one machine, one disk), clients on the leader:
#                     a write is acknowledged once 2 of 3 logs have it on disk
#   cluster, follower: the same, clients on a follower, which forwards
#
# Workloads: SET and GET with -c 50 -d 100 -r 100000, and SET pipelined (-P 16).
#
#   bench/cluster-compare.sh          # N=50000 requests per run, REPS=3
#   N=200000 REPS=5 bench/cluster-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
n=${N:-50000}
reps=${REPS:-3}

. bench/lib.sh
need_redis_tools cluster-compare redis-tools
start_work
bin=$work/aether-kv
port() { free_port; }

stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}

# start_single MODE: sets target to its port.
start_single() {
  local p d
  p=$(port); d=$(mktemp -d "$work/single.XXXX")
  SYNC_MODE=$1 "$bin" serve --addr "127.0.0.1:$p" --data-dir "$d" >/dev/null 2>"$d.log" &
  pids+=($!)
  wait_ping "$p"
  target=$p
}

# start_cluster ROLE: starts 3 nodes, sets target to the port of the leader or of a follower.
start_cluster() {
  local ports=() rports=() peers="" i d leader="" follower=""
  for i in 1 2 3; do ports+=("$(port)"); rports+=("$(port)"); done
  for i in 0 1 2; do peers+="n$i=127.0.0.1:${rports[$i]},"; done
  peers=${peers%,}
  for i in 0 1 2; do
    d=$(mktemp -d "$work/node.XXXX")
    "$bin" serve --node-id "n$i" --addr "127.0.0.1:${ports[$i]}" --raft-addr "127.0.0.1:${rports[$i]}" --data-dir "$d" --peers "$peers" >/dev/null 2>"$d.log" &
    pids+=($!)
  done
  for _ in $(seq 200); do
    for i in 0 1 2; do
      if redis-cli -p "${ports[$i]}" RAFT STATUS 2>/dev/null | grep -q 'raft_state:leader' &&
        redis-cli -p "${ports[$i]}" GET probe >/dev/null 2>&1; then leader=${ports[$i]}; fi
    done
    [ -n "$leader" ] && break
    sleep 0.1
  done
  [ -n "$leader" ] || { echo "no leader" >&2; exit 1; }
  for i in 0 1 2; do [ "${ports[$i]}" != "$leader" ] && follower=${ports[$i]}; done
  sleep 1.5 # followers register their addresses
  if [ "$1" = leader ]; then target=$leader; else target=$follower; fi
}

declare -A results
setups=("single, always" "single, interval" "cluster, leader" "cluster, follower")
for rep in $(seq "$reps"); do
  for setup in "${setups[@]}"; do
    case $setup in
      "single, always") start_single always ;;
      "single, interval") start_single interval ;;
      "cluster, leader") start_cluster leader ;;
      "cluster, follower") start_cluster follower ;;
    esac
    p=$target
    for w in "SET" "SET -P 16" "GET"; do
      read -r t pipe <<<"$w"
      args=(-p "$p" -c 50 -d 100 -r 100000 -n "$n" -t "${t,,}" --csv)
      [ -n "${pipe:-}" ] && args+=(-P 16)
      line=$(redis-benchmark "${args[@]}" 2>/dev/null | tail -1)
      # "SET","rps","avg","min","p50","p95","p99","max"
      results["$setup|$w|$rep"]=$(echo "$line" | tr -d '"' | awk -F, '{printf "%s %s %s", $2, $5, $7}')
    done
    stop_all
  done
done

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| set-up | workload | ops/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
for setup in "${setups[@]}"; do
  for w in "SET" "SET -P 16" "GET"; do
    rps=$(for r in $(seq "$reps"); do echo "${results["$setup|$w|$r"]}" | awk '{print $1}'; done | median)
    p50=$(for r in $(seq "$reps"); do echo "${results["$setup|$w|$r"]}" | awk '{print $2}'; done | median)
    p99=$(for r in $(seq "$reps"); do echo "${results["$setup|$w|$r"]}" | awk '{print $3}'; done | median)
    printf '| %s | %s | %.0f | %s | %s |\n' "$setup" "$w" "$rps" "$p50" "$p99"
  done
done
echo
echo "$(nproc) cores, $(uname -r), N=$n, REPS=$reps, $(date -u +%Y-%m-%d)"
