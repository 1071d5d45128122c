#!/usr/bin/env bash
# Lists and calls every GovLens service of a running three-process stack through gRPC
# reflection alone (no .proto files), with `buf curl` (grpcurl works the same way).
#
#   [GOVLENS_TOKEN=glt_...] deploy/check-reflection.sh DATA_URL SCORING_URL RECOMMENDATION_URL
#   e.g. deploy/check-reflection.sh http://127.0.0.1:50051 http://127.0.0.1:50052 http://127.0.0.1:50053
# Exits non-zero, saying what is missing, if a service is not listed or a call fails.
set -euo pipefail
cd "$(dirname "$0")/.."
buf=.tools/node_modules/.bin/buf
[ -x "$buf" ] || { echo "buf not installed: (cd .tools && npm install)" >&2; exit 1; }
[ $# -eq 3 ] || { echo "usage: $0 DATA_URL SCORING_URL RECOMMENDATION_URL" >&2; exit 2; }
# Calls carry GOVLENS_TOKEN when set (reflection and health need none).
auth=(); [ -n "${GOVLENS_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $GOVLENS_TOKEN")
curl_grpc() { "$buf" curl --protocol grpc --http2-prior-knowledge "${auth[@]}" "$@"; }

check() {
  local url=$1 service=$2 method=$3 body=$4 expect=$5
  local listed
  listed=$(curl_grpc --list-services "$url")
  for name in "$service" grpc.health.v1.Health; do
    grep -qx "$name" <<<"$listed" || { echo "$url does not list $name:"$'\n'"$listed" >&2; exit 1; }
  done
  local answer
  answer=$(curl_grpc -d "$body" "$url/$service/$method")
  grep -q "$expect" <<<"$answer" || { echo "$url $service/$method: no \"$expect\" in"$'\n'"$answer" >&2; exit 1; }
  health=$(curl_grpc -d "{\"service\": \"$service\"}" "$url/grpc.health.v1.Health/Check")
  grep -q SERVING <<<"$health" || { echo "$url: $service is not SERVING: $health" >&2; exit 1; }
  echo "ok  $url  $service/$method"
}

check "$1" govlens.data.v1.DataService ListPlatforms '{"page_size": 50}' '"guizhou-tong"'
check "$2" govlens.scoring.v1.ScoringService ScoreUnits \
  '{"scope": {"model_id": "toe-default", "unit_kind": "UNIT_KIND_REGION"}}' '"cn-gz"'
check "$3" govlens.recommendation.v1.RecommendationService Recommend \
  '{"region_code": "cn-gz"}' '"recommendations"'
