# shellcheck shell=bash
# Prometheus for scripts/services (sourced by it; uses its settings and helpers).
#
# Debian's `prometheus` package (2.42, which also ships promtool, used by the rule tests),
# run as an instance of our own on 127.0.0.1:$PROM_PORT with its state in $PROM_DIR. The
# Debian service on 9090 is never touched. It loads the repository's rules
# (deploy/prometheus/rules/*.yml) and discovers its targets from files in $PROM_TARGETS
# (file-based service discovery): `make dev` and every `orders-cqrs` process started with
# ORDERS_PROMETHEUS_SD_DIR=$PROM_TARGETS write one there, and remove it when they stop.

PROM_REPO="$(dirname "$SERVICES_D")/.."

prom_running() {
    curl -fsS --max-time 3 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1
}

prom_pid_alive() {
    [[ -f $PROM_PID ]] || return 1
    local pid
    pid=$(<"$PROM_PID")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

prom_install() {
    if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
        need_root
        apt_install prometheus
    fi
    command -v promtool >/dev/null 2>&1 || die "promtool did not install"
    # amtool (Debian's prometheus-alertmanager) checks the compose stack's Alertmanager
    # config in the tests; the package's own daemon is never started here.
    if ! command -v amtool >/dev/null 2>&1; then
        need_root
        apt_install prometheus-alertmanager
    fi
    command -v amtool >/dev/null 2>&1 || die "amtool did not install"
}

prom_config() {
    local rules
    rules="$(readlink -f "$PROM_REPO")/deploy/prometheus/rules"
    cat >"$PROM_DIR/prometheus.yml" <<CONF
# Managed by scripts/services; rewritten on every start.
global:
  scrape_interval: $PROM_SCRAPE_INTERVAL
  evaluation_interval: $PROM_SCRAPE_INTERVAL
rule_files:
  - $rules/*.yml
scrape_configs:
  # Every orders-cqrs process; each discovery file sets its own job label (orders-api,
  # orders-relay, orders-projector, orders-reconciler, orders-dev).
  - job_name: orders
    file_sd_configs:
      - files: ['$PROM_TARGETS/*.json']
        refresh_interval: 5s
CONF
}

prom_start() {
    if prom_running; then
        log "prometheus: already running on 127.0.0.1:$PROM_PORT"
        return 0
    fi
    prom_install
    install -d -m 755 "$DIR" "$PROM_DIR" "$PROM_TARGETS"
    install -d -m 750 "$PROM_DIR/data"
    if [[ -f $PROM_PID ]] && ! prom_pid_alive; then
        rm -f "$PROM_PID"
    fi
    prom_config
    promtool check config "$PROM_DIR/prometheus.yml" >/dev/null || die "prometheus config is invalid"
    log "prometheus: starting $(prometheus --version 2>&1 | awk 'NR==1{print $3}') on 127.0.0.1:$PROM_PORT"
    nohup prometheus --config.file="$PROM_DIR/prometheus.yml" \
        --storage.tsdb.path="$PROM_DIR/data" --storage.tsdb.retention.time=7d \
        --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle \
        >"$PROM_LOG" 2>&1 </dev/null &
    echo $! >"$PROM_PID"
    local waited=0
    until prom_running; do
        if ((waited >= TIMEOUT)) || ! prom_pid_alive; then
            show_log_tail "$PROM_LOG"
            die "prometheus does not answer on 127.0.0.1:$PROM_PORT"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "prometheus: ready (http://127.0.0.1:$PROM_PORT, targets from $PROM_TARGETS)"
}

prom_stop() {
    if prom_pid_alive; then
        log "prometheus: stopping"
        kill "$(<"$PROM_PID")" 2>/dev/null || true
        local waited=0
        while prom_pid_alive && ((waited < 30)); do
            sleep 0.5
            waited=$((waited + 1))
        done
        if prom_pid_alive; then
            kill -9 "$(<"$PROM_PID")" 2>/dev/null || true
        fi
    fi
    if prom_running; then
        die "prometheus on 127.0.0.1:$PROM_PORT still answers (not started by this script?)"
    fi
    rm -f "$PROM_PID"
    log "prometheus: stopped"
}

prom_status() {
    if prom_running; then
        log "prometheus: running on 127.0.0.1:$PROM_PORT (pid $(cat "$PROM_PID" 2>/dev/null || echo ?), state $PROM_DIR)"
        return 0
    fi
    log "prometheus: stopped (port $PROM_PORT, state $PROM_DIR)"
    return 3
}
