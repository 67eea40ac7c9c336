#!/usr/bin/env bash
# Runs the seed README's shell session through a pipe against a fresh data
# directory and checks the replies byte for byte, then checks that the data
# survives a restart and that a second process is refused the directory.
set -euo pipefail
bin=${1:?usage: seed-session.sh path/to/aether-kv}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

got=$(printf '%s\n' 'PUT user:1 "John Doe"' 'GET user:1' 'DELETE user:1' 'GET user:1' 'EXIT' |
  DATA_DIR="$dir/data" "$bin")
want=$'OK\nJohn Doe\nOK\nError: key not found\nGoodbye!'
if [ "$got" != "$want" ]; then
  printf 'seed session: got\n%s\nwant\n%s\n' "$got" "$want"; exit 1
fi
echo "ok   seed session replies match the README"

printf 'PUT k "survives a restart"\n' | DATA_DIR="$dir/data" "$bin" >/dev/null
got=$(printf 'GET k\n' | DATA_DIR="$dir/data" "$bin")
[ "$got" = "survives a restart" ] || { echo "restart: GET k = $got"; exit 1; }
echo "ok   a value written by one run is read by the next (end of input = EXIT)"

# A second process on a held directory must fail with a clear message.
mkfifo "$dir/in"
DATA_DIR="$dir/data" "$bin" <"$dir/in" >/dev/null & holder=$!
exec 3>"$dir/in"
sleep 0.5
if out=$(printf 'GET k\n' | DATA_DIR="$dir/data" "$bin" 2>&1); then
  echo "second process on a locked directory exited 0: $out"; exit 1
fi
exec 3>&-
wait "$holder"
case "$out" in
  *"in use"*|*locked*) echo "ok   second process refused: $out" ;;
  *) echo "second process failed without saying why: $out"; exit 1 ;;
esac

if out=$(printf 'GET k\n' | BATCH_SIZE=abc DATA_DIR="$dir/data" "$bin" 2>&1); then
  echo "BATCH_SIZE=abc accepted"; exit 1
fi
case "$out" in *BATCH_SIZE*) echo "ok   bad setting refused: $out" ;; *) echo "bad setting message: $out"; exit 1 ;; esac
