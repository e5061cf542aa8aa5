# shellcheck shell=bash
# Redis for scripts/services (sourced by it; uses its settings and helpers).
#
# A redis-server of our own on 127.0.0.1:$REDIS_PORT, daemonized, with its data
# (append-only file) in $REDIS_DIR and its pidfile at $REDIS_PID. A Redis that apt
# may have started on 6379 is never touched.

redis_running() {
    command -v redis-cli >/dev/null 2>&1 || return 1
    [[ $(timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

redis_pid_alive() {
    [[ -f $REDIS_PID ]] || return 1
    local pid
    pid=$(<"$REDIS_PID")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

redis_start() {
    if redis_running; then
        log "redis: already running on 127.0.0.1:$REDIS_PORT"
        return 0
    fi
    need_root
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        apt_install redis-server
    fi
    command -v redis-server >/dev/null 2>&1 || die "redis-server did not install"

    install -d -m 755 "$DIR"
    install -d -m 750 "$REDIS_DIR"
    # Drop a pidfile left behind by an instance that was killed.
    if [[ -f $REDIS_PID ]] && ! redis_pid_alive; then
        rm -f "$REDIS_PID"
    fi

    log "redis: starting $(redis-server --version | awk '{sub("v=", "", $3); print $3}') on 127.0.0.1:$REDIS_PORT"
    if ! redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
        --dir "$REDIS_DIR" --appendonly yes --appendfsync everysec \
        --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --save ""; then
        show_log_tail "$REDIS_LOG"
        die "redis-server did not start"
    fi
    local waited=0
    until redis_running; do
        if ((waited >= TIMEOUT)); then
            show_log_tail "$REDIS_LOG"
            die "redis does not answer on 127.0.0.1:$REDIS_PORT after ${TIMEOUT}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "redis: ready (redis://127.0.0.1:$REDIS_PORT/0)"
}

redis_stop() {
    if redis_running; then
        log "redis: stopping"
        timeout 30 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    fi
    local waited=0
    while redis_pid_alive || redis_running; do
        if ((waited >= 10)); then
            if redis_pid_alive; then
                log "redis: still up after SHUTDOWN, sending SIGTERM to pid $(<"$REDIS_PID")"
                kill "$(<"$REDIS_PID")" 2>/dev/null || true
                sleep 2
                if redis_pid_alive; then
                    kill -9 "$(<"$REDIS_PID")" 2>/dev/null || true
                fi
            fi
            break
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    if redis_running; then
        die "redis on 127.0.0.1:$REDIS_PORT still answers (not started by this script?)"
    fi
    rm -f "$REDIS_PID"
    log "redis: stopped"
}

redis_status() {
    if redis_running; then
        local pid="?"
        [[ -f $REDIS_PID ]] && pid=$(<"$REDIS_PID")
        log "redis: running on 127.0.0.1:$REDIS_PORT (pid $pid, data $REDIS_DIR)"
        return 0
    fi
    log "redis: stopped (port $REDIS_PORT, data $REDIS_DIR)"
    return 3
}
