# shellcheck shell=bash
# PostgreSQL for scripts/services (sourced by it; uses its settings and helpers).
#
# Our own cluster in $PG_DATA, run by the system user postgres with the newest
# installed server, on 127.0.0.1:$PG_PORT with its socket in $PG_SOCK; start also
# makes sure the role and database the service uses exist. Debian's default
# cluster (5432) is never touched.

as_postgres() { runuser -u postgres -- "$@"; }

# The bin directory of the newest installed server, or of the version that
# created the existing data directory.
pg_bindir() {
    local version=""
    if [[ -f $PG_DATA/PG_VERSION ]]; then
        version=$(<"$PG_DATA/PG_VERSION")
        if [[ -x /usr/lib/postgresql/$version/bin/postgres ]]; then
            printf '/usr/lib/postgresql/%s/bin\n' "$version"
            return 0
        fi
        die "$PG_DATA was created by PostgreSQL $version, which is not installed"
    fi
    local newest
    newest=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null | sort -V | tail -n 1)
    [[ -n $newest ]] || return 1
    dirname "$newest"
}

pg_running() {
    command -v pg_isready >/dev/null 2>&1 || return 1
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2
}

pg_ensure_installed() {
    if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
        apt_install postgresql
    fi
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || die "postgresql did not install"
    id postgres >/dev/null 2>&1 || die "the postgres user is missing after installing postgresql"
}

pg_write_settings() {
    # Rewritten on every start so that ORDERS_PG_PORT and the paths always hold.
    cat >"$PG_DATA/orders-cqrs.conf" <<EOF
# Managed by scripts/services; rewritten on every start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
shared_buffers = 256MB
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
EOF
    chown postgres:postgres "$PG_DATA/orders-cqrs.conf"
    chmod 600 "$PG_DATA/orders-cqrs.conf"
}

pg_init() {
    local bindir=$1
    install -d -m 700 -o postgres -g postgres "$PG_DATA"
    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
        log "postgres: initdb $PG_DATA"
        as_postgres "$bindir/initdb" -D "$PG_DATA" -U postgres \
            --encoding=UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >/dev/null
        printf "\ninclude_if_exists = 'orders-cqrs.conf'\n" >>"$PG_DATA/postgresql.conf"
    fi
}

pg_psql_admin() {
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres "$@"
}

pg_ensure_role_and_db() {
    pg_psql_admin -d postgres <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') THEN
        CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
    ELSE
        ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
    END IF;
END
\$\$;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME')
\gexec
SQL
}

pg_start() {
    if pg_running; then
        # Ours (its socket is in our directory): make sure role and database exist.
        if [[ $EUID -eq 0 && -S $PG_SOCK/.s.PGSQL.$PG_PORT ]]; then
            pg_ensure_role_and_db
        fi
        log "postgres: already running on 127.0.0.1:$PG_PORT"
        return 0
    fi
    need_root
    pg_ensure_installed
    local bindir
    bindir=$(pg_bindir) || die "no PostgreSQL server binary found"

    install -d -m 755 "$DIR"
    runuser -u postgres -- test -x "$DIR" ||
        die "user postgres cannot enter $DIR; choose another ORDERS_SERVICES_DIR"
    install -d -m 755 -o postgres -g postgres "$PG_SOCK"
    touch "$PG_LOG"
    chown postgres:postgres "$PG_LOG"

    pg_init "$bindir"
    pg_write_settings

    log "postgres: starting $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
    if ! as_postgres "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" start >/dev/null; then
        show_log_tail "$PG_LOG"
        die "postgres did not start"
    fi
    local waited=0
    until pg_running; do
        if ((waited >= TIMEOUT)); then
            show_log_tail "$PG_LOG"
            die "postgres does not answer on 127.0.0.1:$PG_PORT after ${TIMEOUT}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    pg_ensure_role_and_db
    log "postgres: ready (postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME)"
}

pg_stop() {
    if [[ ! -f $PG_DATA/postmaster.pid ]]; then
        log "postgres: not running"
        return 0
    fi
    need_root
    local bindir
    bindir=$(pg_bindir) || die "no PostgreSQL server binary found"
    if ! as_postgres "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        log "postgres: not running"
        return 0
    fi
    log "postgres: stopping"
    as_postgres "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null
    log "postgres: stopped"
}

pg_status() {
    if pg_running; then
        local pid="?"
        [[ -f $PG_DATA/postmaster.pid ]] && pid=$(head -n 1 "$PG_DATA/postmaster.pid")
        log "postgres: running on 127.0.0.1:$PG_PORT (pid $pid, data $PG_DATA)"
        return 0
    fi
    log "postgres: stopped (port $PG_PORT, data $PG_DATA)"
    return 3
}
