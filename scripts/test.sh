#!/usr/bin/env bash
# Runs every test: starts DynamoDB Local and moto on loopback (installing them
# if missing) and installs Debian's chromium for the browser tests if it is
# missing, runs vet, gofmt, the Go tests (which may not skip for want of
# those services) with the fuzz targets' seed corpora, the benchmarks once as
# a smoke check, and cfn-lint on the template; stops the services however it
# ends.
#
#   scripts/test.sh          # the README's command: every test but long fuzzing (≤ 10 min)
#   scripts/test.sh --full   # and each parser fuzzed for a while (≤ 30 min); .ci/run runs this
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
full=false
case "${1:-}" in
  --full) full=true ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--full]" >&2; exit 2 ;;
esac
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start )) s)"; }
trap 'scripts/local-services.sh stop' EXIT
envfile=$(scripts/local-services.sh start)
# shellcheck disable=SC1090
. "$envfile"
export SWITCHBOARD_REQUIRE_LOCAL=1

# The browser tests (the chat widget) drive Debian's Chromium with chromedp.
if ! command -v chromium >/dev/null; then
  step "installing Debian's chromium for the browser tests"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

step "go vet"
go vet ./...
step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
step "go test (every package but e2e; fuzz targets run their seeds)"
go test -count=1 -race -timeout 6m -skip '^TestInboxAtScale$' $(go list ./... | grep -v /shared/e2e)
# The inbox listed while a writer moves conversations: 2 000 of them, 10 000
# in the full run; it prints calls per page and read units per conversation.
scale=2000
if $full; then scale=10000; fi
step "inbox at scale ($scale conversations on DynamoDB Local)"
SWITCHBOARD_SCALE=$scale go test -count=1 -timeout 5m -run '^TestInboxAtScale$' -v ./shared/store/ | grep -E '^(inbox at scale|--- FAIL|FAIL|ok|panic)|_test.go'
step "go test shared/e2e (the system on the local services, restarted empty; its measured counts are printed)"
# A fresh DynamoDB Local: the earlier steps' tables (the inbox at scale's
# conversations among them) slow every call it answers, and the e2e tests
# make the most calls (warm build cache: 134 s on fresh services, 210 s on
# a well-used one; on a fresh clone most of the step is building).
scripts/local-services.sh stop
envfile=$(scripts/local-services.sh start)
# shellcheck disable=SC1090
. "$envfile"
# -v for the lines the outage and storm tests print; the passing tests' own
# RUN/PASS lines are filtered out, everything else (failures) is kept. The
# timeout leaves room; it measures nothing.
# The duplicate storms run at full size with --full (SWITCHBOARD_FULL), a
# quarter and a third of it otherwise.
if $full; then export SWITCHBOARD_FULL=1; fi
go test -count=1 -race -timeout 20m -v ./shared/e2e/ | grep -vE '^(=== (RUN|PAUSE|CONT|NAME)|\s*--- PASS)'
if $full; then
  step "fuzz (each parser, seeded from ../shared/corpus)"
  # An execution count, not a duration: Go 1.26's fuzz coordinator can report
  # a spurious "context deadline exceeded" when a duration -fuzztime expires
  # on a loaded machine (golang/go#75804, fixed in Go 1.27); a count has no
  # deadline. 300000 executions is about a minute of the MIME parser.
  for target in ./shared/twilio:FuzzParseMessage ./shared/meta:FuzzParse ./shared/telegram:FuzzParse ./shared/line:FuzzWebhook ./shared/xdm:FuzzWebhook ./shared/wechat:FuzzPush ./shared/email:FuzzParse ./shared/twilio:FuzzVerifierAgreesWithTwilioGo ./shared/webhook:FuzzParseFormAgreesWithParseQuery; do
    go test -run '^$' -fuzz "^${target##*:}\$" -fuzztime "${FUZZTIME:-300000x}" "${target%%:*}"
  done
fi
step "benchmarks (one pass each, as a smoke check; scripts/bench.sh measures)"
# (not ColdStart: it cross-compiles arm64; TestBinariesAsDeployed runs the same harness)
go test -run '^$' -bench 'InboundSMS|Floor|NormalizePhone|DynamoDBPerMessage|DynamoDBPerReply|WebhookToSink' -benchtime 1x -timeout 5m ./... >/dev/null
step "cfn-lint"
if ! command -v cfn-lint >/dev/null; then python3 -m pip install --quiet cfn-lint; fi
cfn-lint template.yaml infra/*.yaml
step "deploy rehearsal (the SAM translation, created on moto's CloudFormation)"
python3 scripts/rehearse.py
step "all tests passed"
