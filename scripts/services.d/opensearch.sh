# shellcheck shell=bash
# OpenSearch for scripts/services (sourced by it; uses its settings and helpers, and
# maven_fetch from maven.sh).
#
# The upstream integ-test distribution (no security plugin: plain http), fetched once
# from Maven Central into $OS_DOWNLOADS, unpacked once into $OS_HOME, completed with
# the analysis-common module, and run as a single node on the machine's Java by the
# system user $OS_USER. Starts and stops are serialized with flock on $OS_LOCK.

os_health_status() {
    # green, yellow or red (the last also when yellow is not reached within a second);
    # fails when nothing answers on the port.
    command -v curl >/dev/null 2>&1 || return 1
    local body
    body=$(curl -sS -m 5 "http://127.0.0.1:$OS_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null) ||
        return 1
    sed -n 's/.*"status" *: *"\([a-z]*\)".*/\1/p' <<<"$body" | grep .
}

os_running() {
    local health
    health=$(os_health_status) || return 1
    [[ $health == green || $health == yellow ]]
}

os_answers() {
    command -v curl >/dev/null 2>&1 || return 1
    curl -s -m 5 -o /dev/null "http://127.0.0.1:$OS_PORT/"
}

# True if the process is an OpenSearch node (read from /proc, which works for every
# user, unlike kill -0; a zombie has an empty command line and does not count).
os_is_node() {
    grep -qa 'org.opensearch.bootstrap.OpenSearch' "/proc/$1/cmdline" 2>/dev/null
}

# True until the process has exited entirely (zombie or gone). Its command line empties
# earlier, while it is still closing its files (sockets, the node lock).
os_alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != [ZX] ]]
}

# The pid of the node named by our pidfile, if that process is alive.
os_pid() {
    [[ -f $OS_PID ]] || return 1
    local pid
    pid=$(<"$OS_PID")
    [[ $pid =~ ^[0-9]+$ ]] && os_is_node "$pid" || return 1
    printf '%s\n' "$pid"
}

# True while another scripts/services starts or stops the node.
os_busy() {
    [[ -f $OS_LOCK ]] && command -v flock >/dev/null 2>&1 && ! flock -n "$OS_LOCK" true 2>/dev/null
}

os_java() {
    local java
    java=$(command -v java) || return 1
    readlink -f "$java"
}

os_ensure_tools() {
    local missing=()
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v unzip >/dev/null 2>&1 || missing+=(unzip)
    command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
    if [[ ${#missing[@]} -gt 0 ]]; then
        apt_install "${missing[@]}"
    fi
    command -v java >/dev/null 2>&1 || die "java is not on PATH (OpenSearch $OS_VERSION needs Java 11 or newer)"
}

os_ensure_user() {
    if ! id -u "$OS_USER" >/dev/null 2>&1; then
        log "opensearch: creating system user $OS_USER (OpenSearch refuses to run as root)"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$OS_USER"
    fi
}

# Fetch the distribution with Maven into $OS_DOWNLOADS, unless it is already there.
os_fetch() {
    maven_fetch "$OS_GROUP" opensearch "$OS_VERSION" zip "$OS_ZIP" opensearch
}

# The integ-test distribution ships only the transport module. The support index needs the
# analysis-common module (edge_ngram, keyword tokenizer, asciifolding …); Maven Central
# serves its jar, which becomes a module with the descriptor a full distribution carries.
os_install_analysis_common() {
    local module="$OS_HOME/modules/analysis-common"
    local jar="analysis-common-$OS_VERSION.jar"
    [[ -s $module/$jar && -s $module/plugin-descriptor.properties ]] && return 0
    maven_fetch org.opensearch.plugin analysis-common "$OS_VERSION" jar "$OS_DOWNLOADS/$jar" opensearch
    install -d -m 755 "$module"
    cp "$OS_DOWNLOADS/$jar" "$module/$jar"
    cat >"$module/plugin-descriptor.properties" <<EOF_DESCRIPTOR
description=Adds "built in" analyzers to OpenSearch.
version=$OS_VERSION
name=analysis-common
classname=org.opensearch.analysis.common.CommonAnalysisPlugin
java.version=11
opensearch.version=$OS_VERSION
extended.plugins=
has.native.controller=false
EOF_DESCRIPTOR
}

# Unpack the distribution into $OS_HOME once (root-owned; the node only reads it).
os_unpack() {
    [[ -x $OS_HOME/bin/opensearch ]] && return 0
    os_fetch
    log "opensearch: unpacking $OS_ZIP into $OS_HOME"
    rm -rf "$DIR"/.opensearch-unpack.*
    local tmp
    tmp=$(mktemp -d "$DIR/.opensearch-unpack.XXXXXX")
    if ! unzip -q "$OS_ZIP" -d "$tmp"; then
        rm -rf "$tmp"
        rm -f "$OS_ZIP"
        die "could not unpack $OS_ZIP (removed it: the next start fetches it again)"
    fi
    [[ -x $tmp/opensearch-$OS_VERSION/bin/opensearch ]] ||
        die "$OS_ZIP has no opensearch-$OS_VERSION/bin/opensearch (left in $tmp)"
    rm -rf "$OS_HOME"
    mv "$tmp/opensearch-$OS_VERSION" "$OS_HOME"
    rm -rf "$tmp"
}

os_write_settings() {
    # Rewritten on every start so that the ports and the paths always hold. The JVM
    # options of the distribution name logs/ and data relative to $OS_HOME, which the
    # node cannot write: point them at our directories (and keep fewer GC logs).
    install -m 640 -o "$OS_USER" -g "$OS_USER" "$OS_HOME/config/log4j2.properties" "$OS_CONF/log4j2.properties"
    sed -e "s#\([=:]\)logs/#\1$OS_LOGS/#g" \
        -e "s#HeapDumpPath=data\$#HeapDumpPath=$OS_DATA#" \
        -e 's#filecount=32,filesize=64m#filecount=4,filesize=16m#' \
        "$OS_HOME/config/jvm.options" >"$OS_CONF/jvm.options"
    if grep -Eq '[=:](logs|data)(/|$)' "$OS_CONF/jvm.options"; then
        die "$OS_HOME/config/jvm.options still names a relative logs/ or data path after rewriting"
    fi
    cat >"$OS_CONF/opensearch.yml" <<EOF_YML
# Managed by scripts/services; rewritten on every start.
cluster.name: $OS_CLUSTER
node.name: $OS_CLUSTER-local
network.host: 127.0.0.1
http.port: $OS_PORT
transport.port: $OS_TRANSPORT_PORT
discovery.type: single-node
path.data: $OS_DATA
path.logs: $OS_LOGS
# A nearly full disk must not make the node refuse writes.
cluster.routing.allocation.disk.threshold_enabled: false
action.auto_create_index: true
EOF_YML
    install -d -m 750 -o "$OS_USER" -g "$OS_USER" "$OS_CONF/jvm.options.d"
    chown "$OS_USER:$OS_USER" "$OS_CONF/jvm.options" "$OS_CONF/opensearch.yml"
    chmod 640 "$OS_CONF/jvm.options" "$OS_CONF/opensearch.yml"
}

os_fail_start() {
    show_log_tail "$OS_LAUNCH_LOG"
    show_log_tail "$OS_LOG"
    die "$*"
}

os_start() {
    if os_running; then
        log "opensearch: already running on 127.0.0.1:$OS_PORT"
        return 0
    fi
    need_root
    install -d -m 755 "$DIR"
    # One start or stop at a time: two nodes racing for the same data and pidfile
    # would leave neither usable.
    (
        flock -w "$OS_TIMEOUT" 9 || die "another scripts/services holds $OS_LOCK for ${OS_TIMEOUT}s"
        os_start_locked
    ) 9>"$OS_LOCK"
}

os_start_locked() {
    if os_running; then
        log "opensearch: already running on 127.0.0.1:$OS_PORT"
        return 0
    fi
    local started=$SECONDS
    os_ensure_tools
    os_ensure_user
    os_unpack
    os_install_analysis_common
    runuser -u "$OS_USER" -- test -x "$DIR" ||
        die "user $OS_USER cannot enter $DIR; choose another ORDERS_SERVICES_DIR"
    install -d -m 750 -o "$OS_USER" -g "$OS_USER" "$OS_CONF" "$OS_DATA" "$OS_LOGS"
    # The pidfile stays readable for status and stop; the temporary files do not.
    install -d -m 755 -o "$OS_USER" -g "$OS_USER" "$OS_RUN"
    install -d -m 750 -o "$OS_USER" -g "$OS_USER" "$OS_RUN/tmp"
    os_write_settings

    local java java_home pid
    java=$(os_java) || die "java is not on PATH"
    java_home=${java%/bin/java}
    if pid=$(os_pid); then
        log "opensearch: pid $pid is up but not healthy yet; waiting for it"
    else
        rm -f "$OS_PID"
        log "opensearch: starting $OS_VERSION on 127.0.0.1:$OS_PORT ($("$java" -version 2>&1 | awk -F'"' 'NR == 1 {print "java " $2}'), $OS_JAVA_OPTS)"
        # A session of its own (setsid), so that signals to the caller's process group
        # do not reach the node; the lock (fd 9) is not handed down.
        if ! (
            ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
            exec setsid -w runuser -u "$OS_USER" -- env -i \
                PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
                OPENSEARCH_JAVA_HOME="$java_home" \
                OPENSEARCH_PATH_CONF="$OS_CONF" \
                OPENSEARCH_TMPDIR="$OS_RUN/tmp" \
                OPENSEARCH_JAVA_OPTS="$OS_JAVA_OPTS" \
                "$OS_HOME/bin/opensearch" -d -p "$OS_PID"
        ) </dev/null >"$OS_LAUNCH_LOG" 2>&1 9>&-; then
            os_fail_start "opensearch did not start"
        fi
    fi

    # The node writes its pidfile within seconds and removes it when it fails to boot.
    local seen="" launched=$SECONDS
    until os_running; do
        if pid=$(os_pid); then
            seen=$pid
        elif [[ -n $seen ]]; then
            os_fail_start "opensearch (pid $seen) exited while starting"
        elif ((SECONDS - launched >= 60)); then
            os_fail_start "opensearch wrote no pidfile ($OS_PID) within 60s"
        fi
        if ((SECONDS - launched >= OS_TIMEOUT)); then
            os_fail_start "opensearch is not green or yellow on 127.0.0.1:$OS_PORT after ${OS_TIMEOUT}s"
        fi
        sleep 1
    done
    log "opensearch: ready in $((SECONDS - started))s (http://127.0.0.1:$OS_PORT, health $(os_health_status))"
}

os_stop() {
    if ! os_pid >/dev/null && ! os_busy && ! os_answers; then
        log "opensearch: not running"
        return 0
    fi
    need_root
    # Waits for a start in progress to finish, then stops what it started.
    (
        flock -w "$OS_TIMEOUT" 9 || die "another scripts/services holds $OS_LOCK for ${OS_TIMEOUT}s"
        os_stop_locked
    ) 9>"$OS_LOCK"
}

os_stop_locked() {
    local pid
    if ! pid=$(os_pid); then
        if os_answers; then
            die "something answers on 127.0.0.1:$OS_PORT but $OS_PID names no running node (not started by this script?)"
        fi
        rm -f "$OS_PID"
        log "opensearch: not running"
        return 0
    fi
    log "opensearch: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while os_alive "$pid"; do
        if ((SECONDS >= deadline)); then
            log "opensearch: pid $pid still up 30s after SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 10))
            while os_alive "$pid"; do
                ((SECONDS < deadline)) || die "opensearch pid $pid survives SIGKILL"
                sleep 0.2
            done
            break
        fi
        sleep 0.2
    done
    rm -f "$OS_PID"
    if os_answers; then
        die "opensearch on 127.0.0.1:$OS_PORT still answers after pid $pid exited (not started by this script?)"
    fi
    log "opensearch: stopped"
}

os_status() {
    local pid="?" health
    if health=$(os_health_status); then
        pid=$(os_pid) || pid="?"
        if [[ $health == green || $health == yellow ]]; then
            log "opensearch: running on 127.0.0.1:$OS_PORT (pid $pid, health $health, data $OS_DATA)"
            return 0
        fi
        log "opensearch: not ready on 127.0.0.1:$OS_PORT (pid $pid, health $health, data $OS_DATA)"
        return 3
    fi
    if pid=$(os_pid); then
        log "opensearch: pid $pid is up but does not answer on 127.0.0.1:$OS_PORT yet (log $OS_LOG)"
        return 3
    fi
    if os_busy; then
        log "opensearch: being started or stopped by another scripts/services (log $OS_LOG)"
        return 3
    fi
    log "opensearch: stopped (port $OS_PORT, data $OS_DATA)"
    return 3
}
