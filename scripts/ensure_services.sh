#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer at DATABASE_URL / REDIS_URL, and that the database
# exists. If a server does not answer: start the machine's own service when one is installed,
# else a private instance under var/ when the server binaries exist, else say what to do.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/isend}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}

read -r PG_HOST PG_PORT PG_USER PG_DB < <("$PY" - "$DATABASE_URL" <<'PYEOF'
import sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or 5432, u.username or "postgres", (u.path or "/isend").lstrip("/") or "isend")
PYEOF
)
read -r R_HOST R_PORT < <("$PY" - "$REDIS_URL" <<'PYEOF'
import sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or 6379)
PYEOF
)

answers() { # host port
  "$PY" - "$1" "$2" <<'PYEOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PYEOF
}

wait_for() { # name host port
  for _ in $(seq 1 60); do answers "$2" "$3" && return 0; sleep 0.5; done
  echo "ensure_services: $1 did not start on $2:$3" >&2; return 1
}

local_host() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }

if ! answers "$PG_HOST" "$PG_PORT"; then
  if ! local_host "$PG_HOST"; then
    echo "PostgreSQL at $PG_HOST:$PG_PORT does not answer. Start it, or use: docker compose up" >&2; exit 1
  fi
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ "$(id -u)" = 0 ] \
     && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "Starting the machine's PostgreSQL cluster..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  fi
  if ! answers "$PG_HOST" "$PG_PORT"; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$PG_BIN" ] && command -v initdb >/dev/null; then PG_BIN=$(dirname "$(command -v initdb)"); fi
    if [ -z "$PG_BIN" ]; then
      echo "PostgreSQL is not running and not installed. Install it (e.g. apt-get install postgresql)" \
           "or run the whole product with: docker compose up" >&2
      exit 1
    fi
    echo "Starting a private PostgreSQL under var/postgres on port $PG_PORT..."
    mkdir -p var
    RUN_AS=()
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || { echo "ensure_services: as root, a 'postgres' user is needed" >&2; exit 1; }
      mkdir -p var/postgres && chown postgres var/postgres; RUN_AS=(runuser -u postgres --)
    fi
    if [ ! -f var/postgres/PG_VERSION ]; then
      "${RUN_AS[@]}" "$PG_BIN/initdb" -D var/postgres -U "$PG_USER" --auth=trust >/dev/null
    fi
    "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D var/postgres -l var/postgres/server.log \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  wait_for PostgreSQL "$PG_HOST" "$PG_PORT"
fi

if ! answers "$R_HOST" "$R_PORT"; then
  if ! local_host "$R_HOST"; then
    echo "Redis at $R_HOST:$R_PORT does not answer. Start it, or use: docker compose up" >&2; exit 1
  fi
  if ! command -v redis-server >/dev/null; then
    echo "Redis is not running and not installed. Install it (e.g. apt-get install redis-server)" \
         "or run the whole product with: docker compose up" >&2
    exit 1
  fi
  echo "Starting Redis on port $R_PORT (data under var/redis, nothing persisted)..."
  mkdir -p var/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$R_PORT" --save "" --appendonly no \
    --dir "$PWD/var/redis" --logfile "$PWD/var/redis/redis.log"
  wait_for Redis "$R_HOST" "$R_PORT"
fi

# Create the database when it is missing (psycopg, so no psql client is needed).
"$PY" - "$DATABASE_URL" "$PG_DB" <<'PYEOF'
import sys
import psycopg
from psycopg import sql
url, name = sys.argv[1], sys.argv[2]
admin_url = url.rsplit("/", 1)[0] + "/postgres"
with psycopg.connect(admin_url, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"Created database {name}")
PYEOF
echo "PostgreSQL ($PG_HOST:$PG_PORT/$PG_DB) and Redis ($R_HOST:$R_PORT) answer."
