#!/usr/bin/env bash
# The GovLens benchmark suite: one command, writes BENCHMARKS.md at the repository root.
#
#   bench/run.sh
#   BENCH_RUNS=3 BENCH_DURATION=5s BENCH_IMPORT_ROWS=200000 bench/run.sh   # a quicker trial
#
# Needs what CI has: cargo, a running PostgreSQL (trust auth) and Redis, python3 (NumPy is
# installed with pip when missing), taskset. It builds the release binaries, creates a
# fresh database (dropped at the end), starts govlens-data, -scoring and -recommendation
# pinned to one core and the load generator (bench/loadgen) pinned to the other, loads
# the paper's dataset, runs every scenario BENCH_RUNS times alternating with the echo
# baseline, and writes the figures (median, min-max) with their ratios and targets.
#
# Environment (defaults in brackets):
#   BENCH_RUNS [3]               runs of every scenario (at least 3 for the report)
#   BENCH_DURATION [10s]         measured window of each load run
#   BENCH_WARMUP [2s]            warm-up before each window
#   BENCH_STREAMS [16]           calls in flight
#   BENCH_CONNECTIONS [2]        HTTP/2 connections they are spread over
#   BENCH_COLD_SAMPLES [3]       cold Recommend calls per run (each after a restart)
#   BENCH_IMPORT_ROWS [1000000]  observations per import run
#   BENCH_IMPORT_BATCH [5000]    observations per ImportRecords message
#   BENCH_PG_URL [postgres://root@127.0.0.1:5432/test]  where to create the databases
#   BENCH_REDIS_URL [redis://127.0.0.1:6379]            the services' Redis
#   BENCH_PG_SSLMODE [disable]   sslmode of the services' database connections: as in
#                                docker-compose, whose PostgreSQL image has TLS off (with
#                                "prefer", sqlx's default, a server with TLS on makes the
#                                first calls after a start much slower: see BENCHMARKS.md)
#   BENCH_PORT [50150]           data on +1, scoring +2, recommendation +3, echo +10
#   BENCH_SERVER_CPU [0], BENCH_CLIENT_CPU [1]          taskset cores
#   BENCH_AUTH [required]        "off" runs the services with GOVLENS_AUTH=off; otherwise
#                                they authenticate (as deployed) and the load generator
#                                sends a token (`govlens token issue`); per-caller rate
#                                limits are off either way, or they would cap the load
#   BENCH_OUT [BENCHMARKS.md]    the report
set -euo pipefail
cd "$(dirname "$0")/.."

: "${BENCH_RUNS:=3}" "${BENCH_DURATION:=10s}" "${BENCH_WARMUP:=2s}"
: "${BENCH_STREAMS:=16}" "${BENCH_CONNECTIONS:=2}" "${BENCH_COLD_SAMPLES:=3}"
: "${BENCH_IMPORT_ROWS:=1000000}" "${BENCH_IMPORT_BATCH:=5000}"
: "${BENCH_PG_URL:=postgres://root@127.0.0.1:5432/test}"
: "${BENCH_REDIS_URL:=redis://127.0.0.1:6379}"
: "${BENCH_PORT:=50150}" "${BENCH_SERVER_CPU:=0}" "${BENCH_CLIENT_CPU:=1}"
: "${BENCH_OUT:=BENCHMARKS.md}" "${BENCH_AUTH:=required}"
: "${BENCH_PG_SSLMODE:=disable}"
command_line="BENCH_AUTH=$BENCH_AUTH BENCH_PG_SSLMODE=${BENCH_PG_SSLMODE:-disable} BENCH_RUNS=$BENCH_RUNS BENCH_DURATION=$BENCH_DURATION BENCH_IMPORT_ROWS=$BENCH_IMPORT_ROWS bench/run.sh"

log() { echo "bench: $*" >&2; }
for tool in cargo psql pg_dump redis-cli taskset python3; do
  command -v "$tool" >/dev/null || { log "$tool is required"; exit 1; }
done
if ! python3 -c "import numpy" 2>/dev/null; then
  log "installing NumPy for the engine benchmark"
  python3 -m pip install --quiet numpy
fi

bin=target/release
work=$(mktemp -d)
results="$work/results"
mkdir -p "$results"
data_listen=127.0.0.1:$((BENCH_PORT + 1))
scoring_listen=127.0.0.1:$((BENCH_PORT + 2))
recommendation_listen=127.0.0.1:$((BENCH_PORT + 3))
echo_listen=127.0.0.1:$((BENCH_PORT + 10))
for addr in $data_listen $scoring_listen $recommendation_listen $echo_listen; do
  if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
    log "$addr is in use; set BENCH_PORT"; exit 1
  fi
done

db="govlens_bench_$$"
db_url="${BENCH_PG_URL%/*}/$db?sslmode=$BENCH_PG_SSLMODE"
copy_db="${db}_copy"
copy_db_url="${BENCH_PG_URL%/*}/$copy_db"
instance=""
declare -A pids=()
# The secret the services call each other with, new for every benchmark.
service_token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')

cleanup() {
  local status=$?
  for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null || true; done
  for name in "${!pids[@]}"; do wait "${pids[$name]}" 2>/dev/null || true; done
  if [ -n "$instance" ]; then flush_cache || true; fi
  psql -q "$BENCH_PG_URL" -c "DROP DATABASE IF EXISTS $db" -c "DROP DATABASE IF EXISTS $copy_db" \
    >/dev/null 2>&1 || true
  if [ "$status" -ne 0 ]; then
    log "failed; logs and results kept in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build -------------------------------------------------------------------------------
log "building release binaries"
# One invocation: building the example separately would resolve features differently and
# make the next `--bins` build rebuild shared dependencies.
cargo build --release --bins --example bench

# --- the engine against NumPy (its own example, all cores) -------------------------------
# First, before any service or import has PostgreSQL writing in the background: the
# engine is memory-bound, and a busy neighbour shows up in its figure, not in NumPy's.
# At least 7 repetitions, so that the median is not one noisy run.
log "engine against NumPy"
"$bin/examples/bench" --reps "$((BENCH_RUNS > 7 ? BENCH_RUNS : 7))" >"$results/engine.txt"

# --- services ----------------------------------------------------------------------------
# Deletes this benchmark's cache entries in Redis: every key names the database instance.
flush_cache() {
  redis-cli -u "$BENCH_REDIS_URL" --scan --pattern "govlens:*$instance*" |
    xargs -r -n 500 redis-cli -u "$BENCH_REDIS_URL" DEL >/dev/null
}

# start NAME LISTEN [VAR=value...]: one service on the server core, with the environment
# deploy/run-local.sh gives it; returns once it reports SERVING.
start() {
  local name=$1 listen=$2
  shift 2
  env DATABASE_URL="$db_url" REDIS_URL="$BENCH_REDIS_URL" GOVLENS_LOG="${GOVLENS_LOG:-info}" \
    GOVLENS_AUTH="$BENCH_AUTH" GOVLENS_SERVICE_TOKEN="$service_token" GOVLENS_RATE_LIMIT_RPS=0 \
    GOVLENS_DATA_LISTEN="$data_listen" GOVLENS_SCORING_LISTEN="$scoring_listen" \
    GOVLENS_RECOMMENDATION_LISTEN="$recommendation_listen" \
    GOVLENS_DATA_ADDR="http://$data_listen" GOVLENS_SCORING_ADDR="http://$scoring_listen" \
    "$@" taskset -c "$BENCH_SERVER_CPU" "$bin/govlens-$name" >>"$work/$name.log" 2>&1 &
  pids[$name]=$!
  for _ in $(seq 120); do
    "$bin/govlens" health --server "http://$listen" >/dev/null 2>&1 && return 0
    kill -0 "${pids[$name]}" 2>/dev/null || { log "$name exited; see $work/$name.log"; exit 1; }
    sleep 0.25
  done
  log "$name did not become healthy; see $work/$name.log"
  exit 1
}
stop() {
  kill -TERM "${pids[$1]}"
  wait "${pids[$1]}" || true
  unset "pids[$1]"
}
start_data() { start data "$data_listen" "$@"; }
start_scoring() { start scoring "$scoring_listen" "$@"; }
start_recommendation() { start recommendation "$recommendation_listen" "$@"; }

# status_kb PID FIELD: VmRSS or VmHWM of a process, in kB.
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# Peak resident memory of every process a service ran as, over the whole benchmark.
declare -A peak_kb=()
note_peak() {
  local name kb
  for name in "$@"; do
    kb=$(status_kb "${pids[$name]}" VmHWM)
    if [ "$kb" -gt "${peak_kb[$name]:-0}" ]; then peak_kb[$name]=$kb; fi
  done
}

# load SCENARIO TARGET RPC [ARGS...]: one load run on the client core, JSON appended.
load() {
  local scenario=$1 target=$2 rpc=$3
  shift 3
  GOVLENS_TOKEN="$reader_token" taskset -c "$BENCH_CLIENT_CPU" "$bin/govlens-loadgen" run \
    --target "http://$target" --rpc "$rpc" --json "$@" >>"$results/$scenario.jsonl"
}
steady() {
  load "$@" --connections "$BENCH_CONNECTIONS" --streams "$BENCH_STREAMS" \
    --duration "$BENCH_DURATION" --warmup "$BENCH_WARMUP"
}

loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "creating databases $db and $copy_db"
psql -q "$BENCH_PG_URL" -c "CREATE DATABASE $db" -c "CREATE DATABASE $copy_db"

start_data
# Tokens for the load generator: an admin one for the imports, a reader one for the reads.
if [ "$BENCH_AUTH" = off ]; then
  admin_token="" reader_token=""
else
  admin_token=$(DATABASE_URL="$db_url" "$bin/govlens" token issue --subject bench-admin --role admin)
  reader_token=$(DATABASE_URL="$db_url" "$bin/govlens" token issue --subject bench-reader --role reader)
fi
start_scoring
start_recommendation
GOVLENS_TOKEN="$admin_token" "$bin/govlens" import --paper --server "http://$data_listen" >"$work/seed.log"
instance=$(psql -tA "$db_url" -c "SELECT instance FROM data_revision")
sleep 2
for name in data scoring recommendation; do
  echo "{\"service\":\"$name\",\"rss_kb\":$(status_kb "${pids[$name]}" VmRSS)}" >>"$results/idle.jsonl"
done

taskset -c "$BENCH_SERVER_CPU" "$bin/govlens-loadgen" echo-server --listen "$echo_listen" \
  >>"$work/echo.log" 2>&1 &
pids[echo]=$!

# The echo baseline answers with as many bytes as ScoreUnits does (and takes as many).
load probe "$scoring_listen" score --calls 1
read -r request_bytes response_bytes < <(python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
print(r["request_bytes"], r["response_bytes"])' "$results/probe.jsonl")
log "ScoreUnits: request $request_bytes B, response $response_bytes B"
echo_args=(--request-bytes "$request_bytes" --response-bytes "$response_bytes")
load probe-recommend "$recommendation_listen" recommend --calls 1

# --- cached reads: in-process cache + Redis ------------------------------------------------
for run in $(seq "$BENCH_RUNS"); do
  log "cached reads, run $run/$BENCH_RUNS"
  steady echo "$echo_listen" echo "${echo_args[@]}"
  steady score "$scoring_listen" score
  steady recommend "$recommendation_listen" recommend
  steady health "$scoring_listen" health
  steady revision "$data_listen" revision
  # One call at a time: latency with no queueing, what a single caller sees.
  load echo-single "$echo_listen" echo "${echo_args[@]}" --streams 1 \
    --duration "$BENCH_DURATION" --warmup "$BENCH_WARMUP"
  load score-single "$scoring_listen" score --streams 1 \
    --duration "$BENCH_DURATION" --warmup "$BENCH_WARMUP"
done
note_peak data scoring recommendation

# --- cached reads, Redis only (scoring restarted without its in-process layer) -------------
stop scoring
start_scoring GOVLENS_CACHE_MEMORY_MB=0
load probe-redis "$scoring_listen" score --calls 1
for run in $(seq "$BENCH_RUNS"); do
  log "Redis-only reads, run $run/$BENCH_RUNS"
  steady echo-redis "$echo_listen" echo "${echo_args[@]}"
  steady score-redis "$scoring_listen" score
done
note_peak scoring
stop scoring

# --- cached reads, every call traced (no caller samples the load; this traces it anyway) ---
start_scoring OTEL_TRACES_SAMPLER=always_on
load probe-traced "$scoring_listen" score --calls 1
for run in $(seq "$BENCH_RUNS"); do
  log "traced reads, run $run/$BENCH_RUNS"
  steady echo-traced "$echo_listen" echo "${echo_args[@]}"
  steady score-traced "$scoring_listen" score
done
note_peak scoring
stop scoring

# --- cold Recommend: all three restarted, their Redis entries deleted ----------------------
stop recommendation
stop data
for run in $(seq "$BENCH_RUNS"); do
  for sample in $(seq "$BENCH_COLD_SAMPLES"); do
    log "cold Recommend, run $run/$BENCH_RUNS, sample $sample/$BENCH_COLD_SAMPLES"
    flush_cache
    start_data
    start_scoring
    start_recommendation
    load "cold-$run" "$recommendation_listen" recommend --calls 1
    note_peak data scoring recommendation
    stop recommendation
    stop scoring
    stop data
  done
done

# --- import: ImportRecords against psql \copy of the same rows -----------------------------
start_data
pg_dump --schema-only "$db_url" | psql -q "$copy_db_url" >/dev/null
# The CSV has no NULLs: an empty field is an empty string (the columns are NOT NULL).
not_null="value_as_printed,source_row,source_column"
columns="platform_code,channel_code,metric,observed_on,value,value_as_printed,source_document,source_table,source_row,source_column"
for run in $(seq "$BENCH_RUNS"); do
  log "import of $BENCH_IMPORT_ROWS rows, run $run/$BENCH_RUNS"
  csv="$work/observations-$run.csv"
  GOVLENS_TOKEN="$admin_token" taskset -c "$BENCH_CLIENT_CPU" "$bin/govlens-loadgen" import --target "http://$data_listen" \
    --rows "$BENCH_IMPORT_ROWS" --batch "$BENCH_IMPORT_BATCH" --tag "run$run" --csv "$csv" --json \
    >>"$results/import.jsonl"
  started=$(date +%s%N)
  taskset -c "$BENCH_CLIENT_CPU" psql -q "$copy_db_url" -c "\\copy observations($columns) FROM '$csv' WITH (FORMAT csv, FORCE_NOT_NULL ($not_null))"
  finished=$(date +%s%N)
  python3 -c 'import sys; n, ns = int(sys.argv[1]), int(sys.argv[2]); print("{\"rows\":%d,\"seconds\":%f,\"rows_per_s\":%f}" % (n, ns / 1e9, n / (ns / 1e9)))' \
    "$BENCH_IMPORT_ROWS" $((finished - started)) >>"$results/copy.jsonl"
  rm -f "$csv"
done
note_peak data
stop data
kill -TERM "${pids[echo]}"
wait "${pids[echo]}" || true
unset "pids[echo]"
for name in data scoring recommendation; do
  echo "{\"service\":\"$name\",\"hwm_kb\":${peak_kb[$name]}}" >>"$results/peak.jsonl"
done

# --- the report ---------------------------------------------------------------------------
{
  echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "kernel=$(uname -r)"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "loadavg_start=$loadavg_start"
  echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rustc=$(rustc --version)"
  echo "postgres=$(psql -tA "$BENCH_PG_URL" -c 'SHOW server_version')"
  echo "redis=$(redis-cli -u "$BENCH_REDIS_URL" INFO server | awk -F: '/^redis_version/ { print $2 }' | tr -d '\r')"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "command=$command_line"
  echo "runs=$BENCH_RUNS"
  echo "duration=$BENCH_DURATION"
  echo "warmup=$BENCH_WARMUP"
  echo "streams=$BENCH_STREAMS"
  echo "connections=$BENCH_CONNECTIONS"
  echo "cold_samples=$BENCH_COLD_SAMPLES"
  echo "import_rows=$BENCH_IMPORT_ROWS"
  echo "import_batch=$BENCH_IMPORT_BATCH"
  echo "auth=$BENCH_AUTH"
  echo "server_cpu=$BENCH_SERVER_CPU"
  echo "client_cpu=$BENCH_CLIENT_CPU"
} >"$results/machine.txt"
python3 bench/report.py "$results" bench/ANALYSIS.md >"$BENCH_OUT"
# Kept so the report can be written again (e.g. after editing bench/ANALYSIS.md):
#   python3 bench/report.py target/bench-results bench/ANALYSIS.md > BENCHMARKS.md
rm -rf target/bench-results
cp -r "$results" target/bench-results
log "wrote $BENCH_OUT (raw results in target/bench-results)"
