# A private, throwaway PostgreSQL cluster: initdb into a temp dir, a free
# port on loopback, stopped and removed by pg_stop. No system service.
# Sourced by scripts/test and scripts/bench:
#
#   . scripts/lib/pg.sh
#   pg_start            # installs PostgreSQL (apt-get) when it is missing
#   trap pg_stop EXIT
#   ... "$PG_URL" (postgres://renraku@127.0.0.1:$PG_PORT), "$PG_DATA" ...
#
# Durability stays at PostgreSQL's defaults (fsync, synchronous_commit and
# full_page_writes on), which renraku requires.

pg_start() {
  local pg_bin
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    printf '\n==> %s\n' "installing PostgreSQL (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  PG_BIN="$pg_bin"
  PG_ROOT=$(mktemp -d /tmp/renraku-pg.XXXXXX)
  PG_DATA="$PG_ROOT/data"
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_ROOT"; fi
  PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '\n==> %s\n' "starting a throwaway PostgreSQL on 127.0.0.1:$PG_PORT"
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" -U renraku --auth=trust -E UTF8 >/dev/null
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_ROOT/server.log" -w \
    -o "-p $PG_PORT -k $PG_ROOT -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
  PG_URL="postgres://renraku@127.0.0.1:$PG_PORT"
}

# Runs a command as the cluster's owner (postgres when we are root, which
# initdb refuses to be).
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Creates an empty database in the cluster and prints its URL.
pg_create_db() {
  local name="$1"
  pg_as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U renraku "$name"
  printf '%s/%s\n' "$PG_URL" "$name"
}

pg_stop() {
  if [ -n "${PG_ROOT:-}" ]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_ROOT"
  fi
}
