#!/usr/bin/env bash
# Runs every test: starts DynamoDB Local and moto on loopback (installing them
# if missing), runs vet, the Go tests (which may not skip for want of those
# services), the benchmarks once as a smoke check, and cfn-lint on the
# template; stops the services however it ends.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
trap 'scripts/local-services.sh stop' EXIT
envfile=$(scripts/local-services.sh start)
# shellcheck disable=SC1090
. "$envfile"
export SWITCHBOARD_REQUIRE_LOCAL=1

echo "== go vet"
go vet ./...
echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
echo "== go test"
go test -count=1 -race ./...
echo "== fuzz (each parser briefly, seeded from ../shared/corpus)"
# An execution count, not a duration: Go 1.26's fuzz coordinator can report a
# spurious "context deadline exceeded" when a duration -fuzztime expires on a
# loaded machine (golang/go#75804, fixed in Go 1.27); a count has no deadline.
# 20000 executions is about 5 s of the MIME parser, under a second of the others.
for target in ./shared/twilio:FuzzParseMessage ./shared/meta:FuzzParse ./shared/telegram:FuzzParse ./shared/email:FuzzParse; do
  go test -run '^$' -fuzz "^${target##*:}\$" -fuzztime "${FUZZTIME:-20000x}" "${target%%:*}"
done
echo "== benchmarks (one pass each, as a smoke check; scripts/bench.sh measures)"
# (not ColdStart: it cross-compiles arm64; TestBinariesAsDeployed runs the same harness)
go test -run '^$' -bench 'InboundSMS|Floor|NormalizePhone|DynamoDBPerMessage|WebhookToSink' -benchtime 1x ./... >/dev/null
echo "== cfn-lint"
if ! command -v cfn-lint >/dev/null; then python3 -m pip install --quiet cfn-lint; fi
cfn-lint template.yaml infra/*.yaml
echo "all tests passed"
