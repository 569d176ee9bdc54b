#!/usr/bin/env bash
# Runs one command (terraform) beside the STAND-IN Azure of server.js, inside the private network
# and mount namespaces it is started in (`unshare -n -m`, see __tests__/support/arm-stand-in.ts):
# only loopback exists, so nothing can leave the machine, and management.azure.com resolves to
# 127.0.0.1 through a hosts file bind-mounted over /etc/hosts in this mount namespace only.
#
# Usage: in-netns.sh <hosts file> <node> <server.js> <server config.json> <ready file> <pid file> -- <command...>
# Exits with the command's code. The server's pid is written to <pid file> so that the caller can
# check it is gone (and end it, should this script itself have been killed).
set -euo pipefail
hosts=$1 node=$2 server=$3 config=$4 ready=$5 pidfile=$6
shift 6
[ "$1" = "--" ] && shift

ip link set lo up
mount --bind "$hosts" /etc/hosts

"$node" "$server" "$config" &
server_pid=$!
echo "$server_pid" >"$pidfile"
cmd_pid=
# The command runs in the background and is waited for, so that a TERM from the caller's timeout
# reaches this trap at once and ends both the command and the server.
cleanup() {
  [ -n "$cmd_pid" ] && kill "$cmd_pid" 2>/dev/null || true
  kill "$server_pid" 2>/dev/null || true
  # Terraform on TERM waits for its provider calls; a call that never returns must not keep this
  # script (and so the namespace's processes) alive: KILL what is left after 10 s.
  for _ in $(seq 1 100); do
    { [ -z "$cmd_pid" ] || ! kill -0 "$cmd_pid" 2>/dev/null; } && ! kill -0 "$server_pid" 2>/dev/null && break
    sleep 0.1
  done
  [ -n "$cmd_pid" ] && kill -KILL "$cmd_pid" 2>/dev/null || true
  kill -KILL "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# Both servers listening before the provider starts (it would retry, with a growing backoff).
for _ in $(seq 1 100); do
  [ -s "$ready" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "in-netns.sh: the stand-in server exited before listening" >&2; exit 70; }
  sleep 0.05
done
[ -s "$ready" ] || { echo "in-netns.sh: the stand-in server did not listen within 5 s" >&2; exit 70; }

"$@" &
cmd_pid=$!
set +e
wait "$cmd_pid"
code=$?
set -e
cmd_pid=
exit "$code"
