# Shell functions the private clusters share (scripts/devdb.sh, scripts/citus_cluster.sh): finding
# the machine's PostgreSQL binaries, running them as the cluster's OS user, and the development
# secrets kept beside a cluster. Sourced, not run.

die() { echo "$(basename "$0" .sh): $*" >&2; exit 1; }

find_pg_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  local candidate
  # Newest installed major version first.
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV) /usr/local/pgsql/bin; do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
      echo "$candidate"
      return
    fi
  done
  die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found.
Install PostgreSQL 15, for example:
  Debian/Ubuntu:  apt-get install postgresql-15 postgresql-contrib   (or: apt-get install postgresql)
  Fedora/RHEL:    dnf install postgresql15-server postgresql15-contrib
  macOS:          brew install postgresql@15
or point DATABASE_URL and DATABASE_ADMIN_URL at an existing server (see README.md)."
}

# Runs a PostgreSQL binary as the cluster's OS user: `postgres` when we are root, ourselves otherwise.
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' OS user to run the server as (useradd --system postgres)"
    # From /, since the postgres user may not be allowed into the current directory.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Where a checkout's private clusters live: its git-ignored .pg/, or, when root runs a checkout
# the postgres user cannot reach (a clone under /root, say), a folder in /var/tmp linked as .pg.
private_cluster_root() {
  local root_dir=$1 checkout_hash=$2
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$root_dir" 2>/dev/null; then
    local outside="/var/tmp/hpms-devdb-$checkout_hash"
    mkdir -p "$outside"
    [ -e "$root_dir/.pg" ] || ln -s "$outside" "$root_dir/.pg"
    echo "$outside"
  else
    echo "$root_dir/.pg"
  fi
}

# Prints the development secrets (token signing, PHI and API-key encryption) kept in `file`,
# making any that are missing, each key named `key_name`: made once per cluster and kept beside
# it, so demo data stays readable across restarts and no secret is ever committed; a secret added
# in a later version is appended to an older cluster's file.
dev_secrets() {
  local file=$1 key_name=$2
  random_base64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }
  add_secret() { grep -q "^export $1=" "$file" || echo "export $1=$2" >>"$file"; }
  (umask 077 && touch "$file")
  add_secret HPMS_TOKEN_SECRET "$(random_base64 48)"
  add_secret HPMS_PHI_KEYS "$key_name:$(random_base64 32)"
  add_secret HPMS_API_KEY_ENCRYPTION_KEYS "$key_name:$(random_base64 32)"
  cat "$file"
}
