#!/usr/bin/env bash
# Builds the suite's images: verification-host (self-contained publish on debian:bookworm-slim), and PostgreSQL 15 and
# RabbitMQ on the same base for machines where the official images cannot be pulled. When debian:bookworm-slim can
# neither be found nor pulled, it is made from the Debian mirror apt is configured with (debootstrap, root only).
# Layers are cached by the daemon: a second run rebuilds only what changed.
#   deploy/build-images.sh [host|postgres|rabbitmq|base ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
HOST_IMAGE=${VERIFICATION_HOST_IMAGE:-verification-host:dev}
POSTGRES_IMAGE=${VERIFICATION_POSTGRES_IMAGE:-verification-postgres:15}
RABBITMQ_IMAGE=${VERIFICATION_RABBITMQ_IMAGE:-verification-rabbitmq:3.10}
targets=("${@:-base postgres rabbitmq host}")
read -r -a targets <<<"${targets[*]}"

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# The first Debian bookworm mirror in apt's sources (deb822 or one-line form), unless DEBIAN_MIRROR names one.
debian_mirror() {
  if [[ -n ${DEBIAN_MIRROR:-} ]]; then echo "$DEBIAN_MIRROR"; return; fi
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u !~ /security/ {print u; exit}' "$f"
  done | head -1 | grep . && return
  grep -hE '^deb +(\[[^]]*\] +)?[a-z]+://[^ ]+ +bookworm +' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | grep -v security | sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1; exit}' | grep . && return
  echo http://deb.debian.org/debian
}

ensure_base() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  log "pulling $BASE_IMAGE"
  if timeout 60 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  [[ $(id -u) -eq 0 ]] || { echo "$BASE_IMAGE cannot be pulled; run as root to make it with debootstrap" >&2; exit 1; }
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  local mirror root
  mirror=$(debian_mirror)
  root=$(mktemp -d /var/tmp/bookworm-rootfs.XXXXXX)
  log "making $BASE_IMAGE from $mirror (debootstrap --variant=minbase bookworm)"
  if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1; then
    tail -20 "$root.log" >&2; umount "$root/proc" 2>/dev/null || true; rm -rf "$root" "$root.log"; exit 1
  fi
  umount "$root/proc" "$root/sys" 2>/dev/null || true
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar --one-file-system -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$root" "$root.log"
  log "made $BASE_IMAGE"
}

build() { # image, context, dockerfile
  log "building $1"
  # The network of the machine, not a bridge: a daemon started without NAT gives containers no way out.
  local out
  if ! out=$(DOCKER_BUILDKIT=0 docker build --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$1" -f "$3" "$2" 2>&1); then
    tail -30 <<<"$out" >&2; exit 1
  fi
  log "built $1"
}

for target in "${targets[@]}"; do
  case $target in
    base) ensure_base ;;
    postgres) ensure_base; build "$POSTGRES_IMAGE" deploy/postgres deploy/postgres/Dockerfile ;;
    rabbitmq) ensure_base; build "$RABBITMQ_IMAGE" deploy/rabbitmq deploy/rabbitmq/Dockerfile ;;
    host)
      ensure_base
      out=artifacts/publish/verification-host
      log "publishing verification-host (self-contained, linux-x64)"
      rm -rf "$out"
      dotnet publish services/Verification.Host/Verification.Host.csproj -c Release -r linux-x64 --self-contained \
        -p:UseAppHost=true -o "$out" -nologo -v q >/dev/null
      build "$HOST_IMAGE" "$out" deploy/Dockerfile
      ;;
    *) echo "unknown image '$target' (base, postgres, rabbitmq, host)" >&2; exit 2 ;;
  esac
done
