#!/usr/bin/env bash
# Build the service image (Dockerfile) with buildah, on a Debian base image made here with debootstrap: no container
# registry is reachable, so `FROM python:3.11-slim` cannot be pulled (../shared/STACK_NOTES.md). Needs root,
# buildah and debootstrap (Debian packages; .ci/run installs them).
#   IMAGE=localhost/liftsense:latest container/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
store=(--storage-driver vfs)
base=${BASE_IMAGE:-localhost/liftsense-base:bookworm}
image=${IMAGE:-localhost/liftsense:latest}

if ! buildah "${store[@]}" inspect --type image "$base" >/dev/null 2>&1; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  echo "base image $base: debootstrap of Debian bookworm with python3 ..."
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  ctr=$(buildah "${store[@]}" from scratch)
  buildah "${store[@]}" copy --quiet "$ctr" "$root" /
  buildah "${store[@]}" config --env LANG=C.UTF-8 --cmd /bin/bash "$ctr"
  buildah "${store[@]}" commit --quiet "$ctr" "$base" >/dev/null
  buildah "${store[@]}" rm "$ctr" >/dev/null
fi

# pip inside the build installs what `make setup` installs here: this machine's pip settings (from its config files
# and PIP_* variables, passed as build arguments) and the local wheel folders they name, mounted read-only. Here that is
# what keeps torch the CPU build; elsewhere pass TORCH_INDEX=https://download.pytorch.org/whl/cpu.
pip_python=.venv/bin/python
[ -x "$pip_python" ] || pip_python=python3
volumes=()
build_args=()
settings=$("$pip_python" -m pip config list 2>/dev/null || true)
for key in index-url extra-index-url find-links constraint cert; do
  value=$(printf '%s\n' "$settings" | grep -E "^[a-z:.]*\.$key=" | tail -1 | cut -d= -f2- | tr -d "'" || true)
  var=PIP_$(echo "$key" | tr a-z- A-Z_)
  value=${!var:-$value}
  [ -n "$value" ] || continue
  build_args+=(--build-arg "$var=$value")
  for path in $(printf '%s\n' "$value" | tr ' ' '\n' | sed 's|^file://||; s|/simple$||'); do
    [ -e "$path" ] && volumes+=(--volume "$path:$path:ro")
  done
done
[ -n "${TORCH_INDEX:-}" ] && build_args+=(--build-arg "TORCH_INDEX=$TORCH_INDEX")
echo "image $image: building the Dockerfile on $base ..."
buildah "${store[@]}" bud --quiet --format docker --isolation chroot "${volumes[@]}" "${build_args[@]}" --build-arg BASE="$base" \
  --layers=false -t "$image" -f Dockerfile . >/dev/null
buildah "${store[@]}" images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$image"
buildah "${store[@]}" rmi --prune >/dev/null 2>&1 || true  # the image this one replaced: vfs stores every layer whole
