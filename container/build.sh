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

# pip inside the build sees this machine's pip settings and the local wheel folders they name (read-only), so the
# image installs exactly what `make setup` installs here, CPU torch included
volumes=()
for path in /etc/pip.conf /etc/xdg/pip $(python3 -m pip config list 2>/dev/null | grep -o "/[^ ']*" | sort -u); do
  path=${path%/simple}
  [ -e "$path" ] && volumes+=(--volume "$path:$path:ro")
done
echo "image $image: building the Dockerfile on $base ..."
buildah "${store[@]}" bud --quiet --isolation chroot "${volumes[@]}" --build-arg BASE="$base" \
  --layers=false -t "$image" -f Dockerfile . >/dev/null
buildah "${store[@]}" images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$image"
