#!/usr/bin/env bash
# Run the built image's service once (`buildah run`, the image's own user, command and environment) on a free port
# of 127.0.0.1 and wait for /readyz; then call `models` once. Exit 0 only when both answer 200.
set -euo pipefail
store=(--storage-driver vfs)
image=${IMAGE:-localhost/liftsense:latest}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ctr=$(buildah "${store[@]}" from --quiet "$image")
log=$(mktemp)
cleanup() {
  kill -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # bentoml's workers can outlive buildah (re-parented to init, still holding the port): the image's venv names them
  pkill -f '^/opt/venv/bin/python3 .*serving.service:LiftSense' 2>/dev/null || true
  buildah "${store[@]}" rm "$ctr" >/dev/null
  rm -f "$log"
}
setsid buildah "${store[@]}" run --isolation chroot --network host "$ctr" -- \
  bentoml serve serving.service:LiftSense --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
pid=$!
trap cleanup EXIT
start=$(date +%s)
get() {  # GET the URL, or POST the JSON body given after it; the answer on stdout, exit 1 unless 200
  python3 - "$@" <<'PY'
import sys, urllib.request
body = sys.argv[2].encode() if len(sys.argv) > 2 else None
req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=60).read().decode())
PY
}
until get "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null || [ $(($(date +%s) - start)) -gt 180 ]; then
    echo "the image's service did not become ready:" >&2
    tail -40 "$log" >&2
    exit 1
  fi
  sleep 1
done
echo "image $image: /readyz 200 after $(($(date +%s) - start)) s"
get "http://127.0.0.1:$port/models" '{}' |
  python3 -c 'import json, sys; print("rest forecast served by:", json.load(sys.stdin)["models"][-1]["serving"][:70])'
