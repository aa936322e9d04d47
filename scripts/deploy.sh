#!/usr/bin/env bash
# Builds every function as Lambda runs it (static arm64 bootstrap, stripped,
# no RPC mode) and deploys with SAM. Arguments go to `sam deploy`:
#
#   scripts/deploy.sh --guided          # first time: asks, then saves samconfig.toml
#   scripts/deploy.sh                   # later: uses samconfig.toml
#
# SAM's go1.x builder takes no build flags of its own; they go through GOFLAGS
# (since Go 1.22 -s also drops DWARF, so it is the same as -ldflags "-s -w").
set -euo pipefail
cd "$(dirname "$0")/.."
command -v sam >/dev/null || { echo "deploy: the AWS SAM CLI is required (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html)" >&2; exit 1; }
export CGO_ENABLED=0
export GOFLAGS="-trimpath -tags=lambda.norpc -ldflags=-s"
sam validate --lint
sam build
sam deploy "$@"
