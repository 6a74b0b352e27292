#!/usr/bin/env bash
# Makes sure the Postgres that DATABASE_URL names is up and the database
# exists: on this machine it starts Postgres when it is installed but
# stopped, installs it through apt when it is missing, and lets the local
# postgres user in over TCP. A remote server is only waited for.
#
# Usage: scripts/postgres.sh postgres://USER@HOST:PORT/DBNAME?sslmode=disable
set -euo pipefail

url=${1:?usage: scripts/postgres.sh DATABASE_URL}
rest=${url#*://}
userinfo=${rest%%@*}
[ "$userinfo" = "$rest" ] && userinfo=postgres
user=${userinfo%%:*}
hostpart=${rest#*@}
hostport=${hostpart%%/*}
host=${hostport%%:*}
port=${hostport##*:}
[ "$port" = "$hostport" ] && port=5432
dbpath=${hostpart#*/}
db=${dbpath%%\?*}
[ -n "$db" ] || db=postgres
admin_url="${url%%/"$dbpath"}/postgres"
case $dbpath in *\?*) admin_url="$admin_url?${dbpath#*\?}" ;; esac

say() { echo "postgres.sh: $*" >&2; }
sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }
# -w: never prompt for a password; fail instead.
sql() { psql -w "$admin_url" -qtAc "$1"; }
# As the postgres OS user over the local socket of the cluster on $port.
sql_as_postgres() { sudo_ su postgres -c "psql -w -p $port -qtAc \"$1\""; }

local_host=false
case $host in 127.0.0.1|localhost|::1|"") local_host=true ;; esac

if ! command -v psql >/dev/null || ! command -v pg_isready >/dev/null; then
  if ! $local_host; then say "psql is missing; install postgresql-client"; exit 1; fi
  say "PostgreSQL is not installed; installing it with apt"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
fi

if ! ready && $local_host; then
  if ! command -v pg_lsclusters >/dev/null; then
    say "PostgreSQL's server is not installed; installing it with apt"
    sudo_ apt-get update -qq
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    say "creating cluster $version/main"
    sudo_ pg_createcluster "$version" main -p "$port" >/dev/null
  fi
  ready || {
    read -r version cluster < <(pg_lsclusters -h | awk -v p="$port" '$3 == p { print $1, $2; exit }')
    if [ -z "${cluster:-}" ]; then say "no cluster listens on port $port (see pg_lsclusters)"; exit 1; fi
    say "starting cluster $version/$cluster"
    sudo_ pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
  }
fi

for _ in $(seq 1 60); do ready && break; sleep 0.5; done
ready || { say "Postgres at $host:$port is not accepting connections"; exit 1; }

# A fresh Debian install asks TCP clients for a password. On this machine,
# let the local database user in from loopback without one.
if ! sql 'SELECT 1' >/dev/null 2>&1 && $local_host; then
  hba=$(sql_as_postgres 'SHOW hba_file' 2>/dev/null || true)
  if [ -n "$hba" ] && ! sudo_ grep -q '# arena: local trust' "$hba"; then
    say "allowing $user from loopback without a password in $hba"
    tmp=$(mktemp)
    { echo "host all $user 127.0.0.1/32 trust # arena: local trust"
      echo "host all $user ::1/128 trust # arena: local trust"
      sudo_ cat "$hba"; } > "$tmp"
    sudo_ cp "$tmp" "$hba"
    rm -f "$tmp"
    sql_as_postgres 'SELECT pg_reload_conf()' >/dev/null
    sleep 0.5
  fi
fi
sql 'SELECT 1' >/dev/null || { say "cannot log in to $admin_url"; exit 1; }

if [ "$(sql "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  say "creating database $db"
  sql "CREATE DATABASE \"$db\"" >/dev/null
fi
