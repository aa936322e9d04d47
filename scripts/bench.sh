#!/usr/bin/env bash
# Measures the budgets of DESIGN.md section 8 and issue 18's table and prints
# the figures: the handler's own CPU and allocations per inbound SMS against
# the floor (GOMAXPROCS=1, in-memory store), E.164 normalization, every other
# channel's handler, the fan-out, the notifier and an agent's reply, cold
# starts, package inits and binary sizes, and DynamoDB
# calls and capacity units per message, per new customer's first message and
# per duplicate (DynamoDB Local, started and stopped here), webhook-to-agent
# latency with SQS requests per notification (DynamoDB Local and moto), and
# last the cost per million messages scripts/cost computes from all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'scripts/local-services.sh stop' EXIT
. "$(scripts/local-services.sh start)"
export SWITCHBOARD_REQUIRE_LOCAL=1
counts=$(mktemp)
echo "== CPU and allocations per inbound SMS, beside the floor (GOMAXPROCS=1, in-memory store); the form parser and the signature check beside their references"
GOMAXPROCS=1 go test -run '^$' -bench 'InboundSMS|Floor|VerifyForm|NormalizePhone|ParseForm' -benchmem -count 5 ./shared/twilio/ ./shared/conversation/ ./shared/webhook/ | grep -E '^Benchmark' | tee -a "$counts"
echo "== DynamoDB per message and per notification (DynamoDB Local; capacity as it reports it)"
go test -run '^$' -bench DynamoDBPerMessage -benchtime 200x ./shared/store/ | grep -E '^Benchmark' | tee -a "$counts" | tr '\t' '\n' | sed 's/^ *//' | grep -v '^$'
echo "== DynamoDB per agent reply (queued by the API, projected, sent by the notifier; DynamoDB Local)"
go test -run '^$' -bench DynamoDBPerReply -benchtime 100x ./shared/store/ | grep -E '^Benchmark' | tr '\t' '\n' | sed 's/^ *//' | grep -v '^$'
echo "== Webhook to agent sink (DynamoDB Local stream + moto SQS, local pollers)"
go test -run '^$' -bench WebhookToSink -benchtime 200x ./shared/e2e | grep -E '^Benchmark' | tee -a "$counts" | tr '\t' '\n' | sed 's/^ *//' | grep -v '^$'
echo "== Email: parsing a 20 MB message (allocated and live heap as multiples of its size)"
go test -run '^$' -bench Parse20MB -benchmem -benchtime 3x ./shared/email | grep -E '^Benchmark' | tr '\t' '\n' | sed 's/^ *//' | grep -v '^$'
echo "== Cold start: init to first Runtime API call (median), ratio to the floor (hello world + a DynamoDB client from LoadDefaultConfig: hellodynamo); stripped arm64 size beside the floor's"
go test -run '^$' -bench ColdStart -benchtime 15x ./shared/e2e | grep -E '^Benchmark' | tr '\t' '\n' | sed 's/^ *//' | grep -v '^$'
# Every function starts with the GOGC template.yaml's Globals give it.
gogc=$(awk '/^Globals:/{g=1} g && $1=="GOGC:"{gsub(/"/,"",$2); print $2; exit}' template.yaml)
echo "== Package initialisation per function (GODEBUG=inittrace=1: the sum of every package's init, mean of 5 starts, GOGC=${gogc:-100} as deployed), native build; hellodynamo is the floor"
bins=$(mktemp -d)
for pkg in functions/{messaging,voice,social,email,api,fanout,notifier,sweeper,chatsocket,spill,signin} shared/lambdatest/testdata/hellodynamo; do
  fn=${pkg##*/}
  go build -trimpath -tags lambda.norpc -ldflags "-s -w" -o "$bins/$fn" "./$pkg"
  sum=0
  for _ in 1 2 3 4 5; do
    # No Runtime API here: the function inits, then fails to reach it.
    ms=$( (GOGC=${gogc:-100} TABLE_NAME=t GODEBUG=inittrace=1 timeout 5 "$bins/$fn" 2>&1 || true) | awk '/^init /{s+=$5} END{printf "%.3f", s}')
    sum=$(awk -v a="$sum" -v b="$ms" 'BEGIN{print a+b}')
  done
  awk -v f="$fn" -v s="$sum" 'BEGIN{printf "%-11s %6.2f ms of package init\n", f, s/5}'
done
rm -rf "$bins"
echo "== Every channel's handler and each later step (GOMAXPROCS=1, in-memory store; ns/op is one webhook, one record, one job or one reply)"
GOMAXPROCS=1 go test -run '^$' -bench 'MetaBatch50|TelegramUpdate|Email30KB|VoiceCall|ProjectFirstMessage|NotifierJob|AgentReply|National' -benchmem -count 3 \
  ./shared/meta/ ./shared/telegram/ ./shared/email/ ./shared/twilio/ ./shared/stream/ ./shared/notify/ ./shared/api/ ./shared/phone/ | grep -E '^Benchmark' | tee -a "$counts"
echo "== Cost per million inbound messages, from the counts and CPU above (us-east-1 list prices; assumed round trips printed; see scripts/cost)"
echo "-- worst case: one record per fan-out and notifier invocation"
go run ./scripts/cost < "$counts"
echo "-- a busy desk: ten records a batch (the template allows 100 stream records and 10 jobs)"
go run ./scripts/cost -batch 10 < "$counts"
rm -f "$counts"
