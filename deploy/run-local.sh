#!/usr/bin/env bash
# Runs the GovLens services as separate processes with the same environment as
# docker-compose.yml, for machines without Docker: PostgreSQL and Redis must be running
# already (DATABASE_URL and REDIS_URL below).
#
#   deploy/run-local.sh                  # build (debug), start all three, load the paper's
#                                        # dataset, print the addresses; Ctrl-C or SIGTERM
#                                        # stops every service
#   PROFILE=release deploy/run-local.sh
#   deploy/run-local.sh data             # just one service, in the foreground: the script
#   deploy/run-local.sh scoring          # `exec`s the binary, so signals (SIGTERM: graceful
#   deploy/run-local.sh recommendation   # stop) and the exit code are the service's own
#
# Environment (defaults in brackets):
#   DATABASE_URL [postgres://root@127.0.0.1:5432/test]
#   REDIS_URL [redis://127.0.0.1:6379]; set it empty for no Redis
#   DATA_PORT, SCORING_PORT, RECOMMENDATION_PORT [50051, 50052, 50053]
#   GOVLENS_DATA_LISTEN, GOVLENS_SCORING_LISTEN, GOVLENS_RECOMMENDATION_LISTEN
#       [127.0.0.1:$DATA_PORT, ...]: listen addresses, e.g. for tests on free ports
#   GOVLENS_DATA_ADDR, GOVLENS_SCORING_ADDR [http://127.0.0.1:<port of the listen address>]
#       where scoring and recommendation find their upstreams
#   GOVLENS_LOG [info], GOVLENS_LOG_FORMAT [json]
#   GOVLENS_AUTH [required]: "off" serves everyone without tokens (your machine only)
#   GOVLENS_SERVICE_TOKEN: the secret the services call each other with; all-three mode
#       makes a random one per run, single-service mode needs it set (the same in each)
#       for scoring and recommendation unless GOVLENS_AUTH=off. All-three mode prints
#       an admin token for you; `govlens token issue` makes more.
#   GOVLENS_BIN_DIR: run the binaries in this directory and do not run cargo at all
#       (needed when called from `cargo test`, where a nested build would wait forever
#       on cargo's build lock); otherwise `cargo build` and target/$PROFILE are used
#   PROFILE [debug]
# Every other variable already set is passed through unchanged, in particular
# OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://127.0.0.1:4317 for a collector you started
# yourself; this script starts none), OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER and
# OTEL_TRACES_SAMPLER_ARG (README, "Sampling"), OTEL_BSP_SCHEDULE_DELAY,
# OTEL_METRIC_EXPORT_INTERVAL, GOVLENS_SHUTDOWN_GRACE_MS, GOVLENS_DRAIN_TIMEOUT_MS and
# GOVLENS_UPSTREAM_TIMEOUT_MS.
set -euo pipefail

usage() { echo "usage: $0 [data|scoring|recommendation]   (no argument: all three + the paper's dataset)"; }

mode="${1:-all}"
case "$mode" in
  all | data | scoring | recommendation) ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
if [ $# -gt 1 ]; then usage >&2; exit 2; fi

# Resolve GOVLENS_BIN_DIR against the caller's directory before moving to the repo root.
if [ -n "${GOVLENS_BIN_DIR:-}" ]; then
  GOVLENS_BIN_DIR=$(cd "$GOVLENS_BIN_DIR" && pwd)
fi
cd "$(dirname "$0")/.."

: "${DATABASE_URL:=postgres://root@127.0.0.1:5432/test}"
REDIS_URL="${REDIS_URL-redis://127.0.0.1:6379}"
: "${DATA_PORT:=50051}" "${SCORING_PORT:=50052}" "${RECOMMENDATION_PORT:=50053}"
: "${PROFILE:=debug}"
: "${GOVLENS_DATA_LISTEN:=127.0.0.1:$DATA_PORT}"
: "${GOVLENS_SCORING_LISTEN:=127.0.0.1:$SCORING_PORT}"
: "${GOVLENS_RECOMMENDATION_LISTEN:=127.0.0.1:$RECOMMENDATION_PORT}"

# http://host:port to reach a listen address (a wildcard host is reached on loopback).
url_of() {
  local host="${1%:*}" port="${1##*:}"
  case "$host" in "" | 0.0.0.0 | "[::]") host=127.0.0.1 ;; esac
  echo "http://$host:$port"
}
data_url=$(url_of "$GOVLENS_DATA_LISTEN")
scoring_url=$(url_of "$GOVLENS_SCORING_LISTEN")
recommendation_url=$(url_of "$GOVLENS_RECOMMENDATION_LISTEN")
: "${GOVLENS_DATA_ADDR:=$data_url}"
: "${GOVLENS_SCORING_ADDR:=$scoring_url}"
: "${GOVLENS_LOG:=info}" "${GOVLENS_LOG_FORMAT:=json}"
# Authentication is on unless GOVLENS_AUTH=off; the services need a shared secret to
# call each other: a fresh random one per run unless you set it.
if [ "$mode" = all ] && [ -z "${GOVLENS_SERVICE_TOKEN:-}" ] && [ "${GOVLENS_AUTH:-required}" != off ]; then
  GOVLENS_SERVICE_TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
fi
[ -n "${GOVLENS_SERVICE_TOKEN:-}" ] && export GOVLENS_SERVICE_TOKEN
export DATABASE_URL REDIS_URL GOVLENS_LOG GOVLENS_LOG_FORMAT \
  GOVLENS_DATA_LISTEN GOVLENS_SCORING_LISTEN GOVLENS_RECOMMENDATION_LISTEN \
  GOVLENS_DATA_ADDR GOVLENS_SCORING_ADDR

if [ -n "${GOVLENS_BIN_DIR:-}" ]; then
  bin="$GOVLENS_BIN_DIR"
else
  flag=""; [ "$PROFILE" = release ] && flag="--release"
  if [ "$mode" = all ]; then
    cargo build $flag --bins
  else
    cargo build $flag --bin "govlens-$mode"
  fi
  bin="target/$PROFILE"
fi
need() {
  [ -x "$bin/$1" ] || { echo "$0: $bin/$1 is missing or not executable" >&2; exit 1; }
}

if [ "$mode" != all ]; then
  need "govlens-$mode"
  exec "$bin/govlens-$mode"
fi

for b in govlens govlens-data govlens-scoring govlens-recommendation; do need "$b"; done
logs=$(mktemp -d)
pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT INT TERM

wait_healthy() {
  for _ in $(seq 120); do
    "$bin/govlens" health --server "$1" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "$2 ($1) did not become healthy; logs in $logs" >&2
  exit 1
}

"$bin/govlens-data" >"$logs/data.log" 2>&1 &
pids+=($!)
wait_healthy "$data_url" data
"$bin/govlens-scoring" >"$logs/scoring.log" 2>&1 &
pids+=($!)
wait_healthy "$scoring_url" scoring
"$bin/govlens-recommendation" >"$logs/recommendation.log" 2>&1 &
pids+=($!)
wait_healthy "$recommendation_url" recommendation

# The paper's dataset goes in with a token of its own, revoked right after; the admin
# token printed below is for you (GOVLENS_TOKEN=... govlens score --server ...).
if [ "${GOVLENS_AUTH:-required}" = off ]; then
  "$bin/govlens" import --paper --server "$data_url"
else
  seed=$("$bin/govlens" token issue --subject run-local-seed --role admin 2>/dev/null)
  GOVLENS_TOKEN="$seed" "$bin/govlens" import --paper --server "$data_url"
  seed_id=${seed#glt_}; "$bin/govlens" token revoke "${seed_id%%_*}" >/dev/null
  echo "admin token (shown once): $("$bin/govlens" token issue --subject run-local --role admin 2>/dev/null)"
fi
echo "data $data_url  scoring $scoring_url  recommendation $recommendation_url"
echo "logs in $logs; Ctrl-C stops all three"
wait "${pids[@]}"
