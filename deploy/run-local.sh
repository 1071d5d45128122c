#!/usr/bin/env bash
# Starts the three GovLens services as separate processes with the same environment
# as docker-compose.yml, for machines without Docker: PostgreSQL and Redis must be
# running already (DATABASE_URL and REDIS_URL below). Loads the paper's dataset, prints
# the addresses, and stops every service on Ctrl-C or SIGTERM.
#
#   deploy/run-local.sh                 # build (debug) and run
#   PROFILE=release deploy/run-local.sh
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATABASE_URL:=postgres://root@127.0.0.1:5432/test}"
: "${REDIS_URL:=redis://127.0.0.1:6379}"
: "${DATA_PORT:=50051}" "${SCORING_PORT:=50052}" "${RECOMMENDATION_PORT:=50053}"
: "${PROFILE:=debug}"
export DATABASE_URL REDIS_URL GOVLENS_LOG="${GOVLENS_LOG:-info}" GOVLENS_LOG_FORMAT="${GOVLENS_LOG_FORMAT:-json}"

flag=""; [ "$PROFILE" = release ] && flag="--release"
cargo build $flag --bins
bin="target/$PROFILE"
logs=$(mktemp -d)
pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT INT TERM

wait_healthy() {
  for _ in $(seq 120); do
    "$bin/govlens" health --server "http://127.0.0.1:$1" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "service on port $1 did not become healthy; logs in $logs" >&2
  exit 1
}

GOVLENS_DATA_LISTEN="127.0.0.1:$DATA_PORT" "$bin/govlens-data" >"$logs/data.log" 2>&1 &
pids+=($!)
wait_healthy "$DATA_PORT"
GOVLENS_SCORING_LISTEN="127.0.0.1:$SCORING_PORT" GOVLENS_DATA_ADDR="http://127.0.0.1:$DATA_PORT" \
  "$bin/govlens-scoring" >"$logs/scoring.log" 2>&1 &
pids+=($!)
wait_healthy "$SCORING_PORT"
GOVLENS_RECOMMENDATION_LISTEN="127.0.0.1:$RECOMMENDATION_PORT" GOVLENS_DATA_ADDR="http://127.0.0.1:$DATA_PORT" \
  GOVLENS_SCORING_ADDR="http://127.0.0.1:$SCORING_PORT" "$bin/govlens-recommendation" >"$logs/recommendation.log" 2>&1 &
pids+=($!)
wait_healthy "$RECOMMENDATION_PORT"

"$bin/govlens" import --paper --server "http://127.0.0.1:$DATA_PORT"
echo "data http://127.0.0.1:$DATA_PORT  scoring http://127.0.0.1:$SCORING_PORT  recommendation http://127.0.0.1:$RECOMMENDATION_PORT"
echo "logs in $logs; Ctrl-C stops all three"
wait "${pids[@]}"
