#!/usr/bin/env bash
# A 3-node Aether KV cluster on loopback driven by redis-cli, as the README
# shows it: writes through every node (followers forward to the leader),
# INCR from all three, INFO replication and ROLE, kill -9 of the leader, a
# write taken by the survivors, and the killed node restarted and caught up.
#
#   scripts/cluster-session.sh [path/to/aether-kv]
set -euo pipefail
bin=${1:-}
work=$(mktemp -d)
if [ -z "$bin" ]; then
  bin=$work/aether-kv
  go build -o "$bin" "$(dirname "$0")/../cmd/main.go"
fi
pids=(0 0 0)
cleanup() {
  for p in "${pids[@]}"; do [ "$p" != 0 ] && kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "cluster-session: $*" >&2
  for i in 0 1 2; do echo "--- node n$i log (tail):" >&2; tail -5 "$work/n$i.log" >&2 || true; done
  exit 1
}

taken=" "
# Ports are drawn below the kernel's range for outgoing connections: a
# port drawn inside it was once taken by a node's outgoing raft
# connection before the node meant to listen on it started ("bind:
# address already in use").
ephemeral=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
low=10000 span=$((ephemeral - 10000))
[ "$span" -ge 1000 ] || { low=20000 span=30000; } # an odd range: draw as before
free_port() { # a port nothing listens on, not handed out before
  local p
  while :; do
    p=$((low + RANDOM % span))
    [[ $taken == *" $p "* ]] && continue
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    taken+="$p "
    echo "$p"
    return
  done
}
ports=() rports=() peers=""
for i in 0 1 2; do
  ports+=("$(free_port)")
  taken+="${ports[$i]} "
  rports+=("$(free_port)")
  taken+="${rports[$i]} "
  peers+="n$i=127.0.0.1:${rports[$i]},"
done
peers=${peers%,}

start() { # start I
  "$bin" serve --node-id "n$1" --addr "127.0.0.1:${ports[$1]}" --raft-addr "127.0.0.1:${rports[$1]}" \
    --data-dir "$work/d$1" --peers "$peers" >>"$work/n$1.log" 2>&1 &
  pids[$1]=$!
}
cli() { # cli I args...
  local i=$1; shift
  redis-cli -p "${ports[$i]}" "$@"
}
leader() { # prints the index of the leader, or nothing
  for i in 0 1 2; do
    [ "${pids[$i]}" != 0 ] && cli "$i" RAFT STATUS 2>/dev/null | grep -q 'raft_state:leader' && { echo "$i"; return; }
  done
  true
}
expect() { # expect WANT I args...
  local want=$1 got; shift
  got=$(cli "$@")
  [ "$got" = "$want" ] || fail "redis-cli -p ${ports[$1]} ${*:2}: got '$got', want '$want'"
  echo "redis-cli (n$1) ${*:2}: $got"
}
retry() { # retry WANT I args...: until it answers WANT, 15 s at most
  local got
  for _ in $(seq 150); do
    got=$(cli "${@:2}" 2>/dev/null || true)
    [ "$got" = "$1" ] && { echo "redis-cli (n$2) ${*:3}: $got"; return; }
    sleep 0.1
  done
  fail "redis-cli -p ${ports[$2]} ${*:3}: got '$got', want '$1' within 15 s"
}

for i in 0 1 2; do start "$i"; done
for _ in $(seq 150); do [ -n "$(leader)" ] && break; sleep 0.1; done
l=$(leader)
[ -n "$l" ] || fail "no leader within 15 s"
f1=$(((l + 1) % 3)) f2=$(((l + 2) % 3))
echo "leader: n$l"
retry OK "$f1" SET user:1 "John Doe" # through a follower: forwarded
expect "John Doe" "$f2" GET user:1
expect 1 "$l" INCR counter
expect 2 "$f1" INCR counter
expect 3 "$f2" INCR counter
expect OK "$f2" MSET a 1 b 2
expect $'1\n2' "$l" MGET a b
cli "$f1" INFO replication | grep -q "raft_leader_id:n$l" || fail "INFO replication on n$f1 does not name leader n$l"
echo "redis-cli (n$f1) INFO replication: names leader n$l"
[ "$(cli "$f1" ROLE | head -1)" = slave ] || fail "ROLE on a follower is not slave"
[ "$(cli "$l" ROLE | head -1)" = master ] || fail "ROLE on the leader is not master"

kill -9 "${pids[$l]}"
wait "${pids[$l]}" 2>/dev/null || true
pids[$l]=0
start_kill=$(date +%s%N)
retry OK "$f1" SET after kill
echo "the survivors took a write $((($(date +%s%N) - start_kill) / 1000000)) ms after kill -9 of the leader"
expect 3 "$f2" GET counter
start "$l"
# READONLY and GET on one connection: the restarted node's own copy.
for _ in $(seq 150); do
  got=$(printf 'READONLY\nGET after\nGET user:1\n' | redis-cli -p "${ports[$l]}" 2>/dev/null | tail -2 | paste -sd, || true)
  [ "$got" = "kill,John Doe" ] && break
  sleep 0.1
done
[ "$got" = "kill,John Doe" ] || fail "the restarted node's own copy: got '$got', want 'kill,John Doe'"
echo "the restarted node n$l caught up: READONLY GET after, user:1 -> $got"
echo "cluster session: ok"
