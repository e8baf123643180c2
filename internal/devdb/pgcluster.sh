#!/usr/bin/env bash
# pgcluster.sh — a throwaway PostgreSQL cluster in a project-local directory,
# for `make demo` and for `make test` on a machine without a server.
#
#   pgcluster.sh start DIR   start (creating it if needed); print its URL on stdout
#   pgcluster.sh stop DIR    stop it (the data stays until DIR is removed)
#   pgcluster.sh url DIR     print the URL of a running cluster
#
# It installs Debian's postgresql package when no server binaries are found,
# runs initdb as the postgres system user when invoked as root (initdb refuses
# root), and picks a free port from 55432 up. Progress goes to stderr.
set -euo pipefail

cmd=${1:?usage: pgcluster.sh start|stop|url DIR}
dir=${2:?usage: pgcluster.sh start|stop|url DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data

say() { echo "pgcluster: $*" >&2; }

find_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    say "no PostgreSQL server binaries found; installing Debian's postgresql package"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
    d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$d"
}

# as_owner runs a command as the cluster's owner: postgres when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  local p
  for p in $(seq 55432 55632); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  say "no free port between 55432 and 55632"
  exit 1
}

url() { echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres?sslmode=disable"; }

running() { [ -f "$dir/port" ] && [ -f "$data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

bin=$(find_bin)
case "$cmd" in
start)
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    say "initdb in $data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if running; then
    url
    exit 0
  fi
  port=$(free_port)
  echo "$port" >"$dir/port"
  say "starting PostgreSQL on 127.0.0.1:$port"
  as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  url
  ;;
stop)
  if running; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    say "stopped"
  else
    say "not running"
  fi
  ;;
url)
  running || { say "not running"; exit 1; }
  url
  ;;
*)
  say "unknown command $cmd"
  exit 2
  ;;
esac
