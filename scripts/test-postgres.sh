#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for the database tests.
#
#   scripts/test-postgres.sh start <dir>   initdb into <dir>, start the server on
#                                          127.0.0.1 (a free port, unix socket in
#                                          <dir>), print its connection URL
#   scripts/test-postgres.sh stop <dir>    stop that server and remove <dir>
#
# .ci/run starts one cluster and exports the URL as VERDICT_TEST_PG_URL; without
# that variable test/helpers/postgres.ts calls this script itself, so both paths
# run the same code. The server binaries come from Debian's `postgresql` package
# (PG_BINDIR if set, else `pg_config --bindir`, else /usr/lib/postgresql/<newest>/bin).
# initdb and postgres refuse to run as root: as root they run as the `postgres`
# user, which then owns <dir>.
set -euo pipefail

usage () {
  echo "usage: $0 start <dir> | stop <dir>" >&2
  exit 2
}

[ $# -eq 2 ] || usage
command=$1
dir=$2

find_bindir () {
  local candidate
  # An explicit choice is used as it is, or not at all.
  if [ -n "${PG_BINDIR:-}" ]; then
    if [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/postgres" ]; then
      echo "$PG_BINDIR"
      return 0
    fi
    return 1
  fi
  if command -v pg_config >/dev/null 2>&1; then
    candidate=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/postgres" ]; then
      echo "$candidate"
      return 0
    fi
  fi
  # Debian installs server binaries per major version, outside PATH.
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/postgres" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# Runs a server binary as the user that may run it: the postgres user when we are root.
as_owner () {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port () {
  node -e "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })"
}

start () {
  local bindir port attempt url
  if ! bindir=$(find_bindir); then
    echo "PostgreSQL server binaries (initdb, postgres) not found: install Debian's \`postgresql\` package (apt-get install postgresql), or set VERDICT_TEST_PG_URL to a server the tests may use." >&2
    exit 3
  fi
  if [ "$(id -u)" -eq 0 ] && ! id -u postgres >/dev/null 2>&1; then
    echo "running as root, and there is no \`postgres\` user to run the server as (Debian's \`postgresql\` package creates it); run the tests as another user or set VERDICT_TEST_PG_URL." >&2
    exit 3
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  chmod 700 "$dir"
  if ! as_owner test -w "$dir" -a -x "$dir"; then
    echo "$dir is not reachable by the postgres user (a parent directory is private to root): use a directory made by mktemp -d." >&2
    exit 1
  fi

  as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 || {
    echo "initdb failed (log: $dir/initdb.log):" >&2
    tail -n 20 "$dir/initdb.log" >&2
    exit 1
  }

  # A free port can be taken between the check and the bind: try a few.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      url="postgresql://postgres@127.0.0.1:$port/postgres"
      echo "$url"
      return 0
    fi
  done
  echo "postgres did not start on 127.0.0.1 (log: $dir/postgres.log):" >&2
  tail -n 20 "$dir/postgres.log" >&2 || true
  exit 1
}

stop () {
  local bindir
  if [ -f "$dir/data/postmaster.pid" ] && bindir=$(find_bindir); then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
