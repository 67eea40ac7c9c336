# Shared by the shell benchmarks of bench/: sourced, not run.

# need_redis_tools NAME PACKAGES...: installs the Debian packages when a
# command of theirs is missing and we run as root, else exits.
need_redis_tools() {
  local name=$1
  shift
  if ! command -v redis-benchmark >/dev/null || { [[ " $* " == *" redis-server "* ]] && ! command -v redis-server >/dev/null; }; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
    else
      echo "$name: needs $* (apt-get install $*)" >&2
      exit 1
    fi
  fi
}

# start_work: a scratch directory in $work, the aether-kv binary built in
# it, and the processes in pids killed at exit.
start_work() {
  work=$(mktemp -d)
  pids=()
  trap cleanup EXIT
  go build -o "$work/aether-kv" ./cmd/main.go
}

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ping() { # wait_ping PORT
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2
  return 1
}
