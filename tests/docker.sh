#!/usr/bin/env bash
# Docker for the tests: uses a daemon that already answers (a developer's laptop) and changes nothing about it;
# otherwise (a fresh Debian machine, as root) installs docker.io and starts a loopback-only daemon of its own, which
# `stop` ends again. Sourced by tests/run.sh; also usable alone:
#   eval "$(tests/docker.sh start)"   # prints the exports the tests need
#   tests/docker.sh stop              # removes this run's containers, stops the daemon if it started one
set -euo pipefail

# Its own daemon keeps its data (images and build cache) between runs; sockets and pid live under /run.
VERIFICATION_DOCKER_DATA=${VERIFICATION_DOCKER_DATA:-/var/lib/verification-docker}
VERIFICATION_DOCKER_RUN=${VERIFICATION_DOCKER_RUN:-/run/verification-docker}

docker_answers() { timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Sets DOCKER_HOST (when it starts a daemon), DOCKER_API_VERSION and the Testcontainers variables; records in
# VERIFICATION_DOCKER_STARTED whether the daemon is ours to stop.
docker_start() {
  export VERIFICATION_DOCKER_STARTED=${VERIFICATION_DOCKER_STARTED:-0}
  if docker_answers; then
    echo "Docker: using the daemon that answers at ${DOCKER_HOST:-the default socket}" >&2
  else
    if [[ $(id -u) -ne 0 ]]; then
      echo "No Docker daemon answers (DOCKER_HOST=${DOCKER_HOST:-unset}). Start one (e.g. 'sudo dockerd &' or Docker Desktop)" >&2
      echo "or run tests/run.sh as root on Debian, which installs docker.io and starts its own loopback-only daemon." >&2
      return 1
    fi
    if ! command -v dockerd >/dev/null; then
      echo "Installing docker.io (no Docker daemon answers)" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi
    mkdir -p "$VERIFICATION_DOCKER_DATA" "$VERIFICATION_DOCKER_RUN"
    export DOCKER_HOST="unix://$VERIFICATION_DOCKER_RUN/docker.sock"
    # A daemon of an earlier, killed run may still hold the pid file: end it first.
    if [[ -s $VERIFICATION_DOCKER_RUN/dockerd.pid ]] && kill -0 "$(cat "$VERIFICATION_DOCKER_RUN/dockerd.pid")" 2>/dev/null; then
      if ! docker_answers; then docker_stop_daemon; fi
    fi
    if ! docker_answers; then
      # Loopback only and no NAT or firewall rules: ports are published on 127.0.0.1, containers have no way out.
      setsid dockerd \
        --ip 127.0.0.1 --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --data-root "$VERIFICATION_DOCKER_DATA" --exec-root "$VERIFICATION_DOCKER_RUN/exec" \
        --pidfile "$VERIFICATION_DOCKER_RUN/dockerd.pid" -H "$DOCKER_HOST" \
        </dev/null >>"$VERIFICATION_DOCKER_RUN/dockerd.log" 2>&1 &
      # Ours to stop from here on, even if it never answers.
      VERIFICATION_DOCKER_STARTED=1
      for _ in $(seq 1 120); do docker_answers && break; sleep 0.5; done
      if ! docker_answers; then
        echo "dockerd did not answer within 60 s; its log:" >&2
        tail -20 "$VERIFICATION_DOCKER_RUN/dockerd.log" >&2
        return 1
      fi
      echo "Docker: started dockerd (pid $(cat "$VERIFICATION_DOCKER_RUN/dockerd.pid"), data $VERIFICATION_DOCKER_DATA, socket $DOCKER_HOST)" >&2
    fi
  fi
  # Debian's daemon (20.10) is older than the API Testcontainers asks for by default.
  local api
  api=$(timeout 20 docker version --format '{{.Server.APIVersion}}' 2>/dev/null || echo 1.41)
  export DOCKER_API_VERSION=${DOCKER_API_VERSION:-$api}
  # Ryuk's image cannot be pulled everywhere: the fixtures and `docker_stop` remove what the run started.
  export TESTCONTAINERS_RYUK_DISABLED=${TESTCONTAINERS_RYUK_DISABLED:-true}
  # In a container-like machine (/.dockerenv) Testcontainers would pick the bridge gateway; ports are on the loopback.
  if [[ -z ${TESTCONTAINERS_HOST_OVERRIDE:-} && ${DOCKER_HOST:-unix://} == unix://* ]]; then
    export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
  fi
  export VERIFICATION_TEST_RUN=${VERIFICATION_TEST_RUN:-$(date +%s)-$$}
}

# Removes every container and compose project this run labelled; on a daemon of its own, everything left on it.
docker_remove_run() {
  docker_answers || return 0
  local ids
  if [[ ${VERIFICATION_DOCKER_STARTED:-0} == 1 ]]; then
    ids=$(docker ps -aq)
  else
    ids=$( { docker ps -aq --filter "label=verification.test-run=${VERIFICATION_TEST_RUN:-none}";
             docker ps -aq --filter "label=com.docker.compose.project=verification-e2e-${VERIFICATION_TEST_RUN:-none}"; } | sort -u)
  fi
  if [[ -n $ids ]]; then
    echo "Docker: removing $(wc -w <<<"$ids") container(s) of this run" >&2
    docker rm -f -v $ids >/dev/null 2>&1 || true
  fi
  docker network ls -q --filter "label=com.docker.compose.project=verification-e2e-${VERIFICATION_TEST_RUN:-none}" | xargs -r docker network rm >/dev/null 2>&1 || true
  docker volume ls -q --filter "label=com.docker.compose.project=verification-e2e-${VERIFICATION_TEST_RUN:-none}" | xargs -r docker volume rm >/dev/null 2>&1 || true
  # On a daemon of its own, the anonymous volumes of the images' data folders too; its images stay, as the cache.
  if [[ ${VERIFICATION_DOCKER_STARTED:-0} == 1 ]]; then docker volume prune -f >/dev/null 2>&1 || true; fi
}

docker_stop_daemon() {
  local pidfile=$VERIFICATION_DOCKER_RUN/dockerd.pid pid
  [[ -s $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "Docker: stopped dockerd (pid $pid)" >&2
}

docker_stop() {
  docker_remove_run
  if [[ ${VERIFICATION_DOCKER_STARTED:-0} == 1 ]]; then docker_stop_daemon; fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    start)
      docker_start
      for name in DOCKER_HOST DOCKER_API_VERSION TESTCONTAINERS_RYUK_DISABLED TESTCONTAINERS_HOST_OVERRIDE VERIFICATION_TEST_RUN VERIFICATION_DOCKER_STARTED; do
        [[ -n ${!name:-} ]] && printf 'export %s=%q\n' "$name" "${!name}"
      done
      ;;
    stop) docker_stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
  esac
fi
