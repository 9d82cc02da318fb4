#!/usr/bin/env bash
# Runs every test of the suite: builds the solution (warnings are errors) and runs each test project.
# PostgreSQL and RabbitMQ run in containers (Testcontainers), and the compose deployment is brought up for real, so the
# tests need Docker: a daemon that answers is used as it is; otherwise, as root on Debian, docker.io is installed and a
# loopback-only daemon of this run's own is started (tests/docker.sh). The images are built once and cached
# (deploy/build-images.sh). Whatever happens — tests failing, Ctrl-C — the containers this run started are removed and
# the daemon it started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
/usr/bin/python3 -c 'import grpc' 2>/dev/null || need+=(python3-grpcio)
/usr/bin/python3 -c 'import grpc_tools' 2>/dev/null || need+=(python3-grpc-tools)
command -v h2load >/dev/null || need+=(nghttp2-client)
# The quick start at the end clones the repository and looks for a host left on its port.
command -v git >/dev/null || need+=(git)
command -v ss >/dev/null || need+=(iproute2)
# The portal's browser tests drive Debian's chromium (no browser download); without it they fail.
[[ -x /usr/bin/chromium ]] || need+=(chromium)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || need+=(docker-compose)
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "Installing test dependencies: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "Missing test dependencies. Install them with:" >&2
    echo "  sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

# shellcheck source=tests/docker.sh
source tests/docker.sh
log=$(mktemp)
summary=""
finish() {
  local code=$?
  trap - EXIT INT TERM
  docker_stop || true
  rm -f "$log"
  # The closing line comes last, after the clean-up's messages.
  [[ -z $summary ]] || echo "$summary"
  exit "$code"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date +%s)
docker_start
deploy/build-images.sh
echo "images ready after $(($(date +%s) - started)) s"

dotnet build Verification.sln -c Release -nologo -v q
status=0
for project in tests/*.Tests/*.csproj; do
  echo "== $(basename "$project" .csproj)"
  out=$(mktemp)
  if ! dotnet test "$project" -c Release --no-build -nologo > "$out" 2>&1; then status=1; fi
  cat "$out" >> "$log"
  # Show failures in full, and each project's summary line.
  if grep -q '^Failed!' "$out" || ! grep -q '^Passed!' "$out"; then cat "$out"; else grep -E '^Passed!' "$out"; fi
  rm -f "$out"
done
# The README's quick start, as written, in a fresh copy of the repository: the README cannot drift from what works.
echo "== quick start (tests/quickstart.sh)"
out=$(mktemp)
quickstart="quick start passed"
if bash tests/quickstart.sh > "$out" 2>&1; then grep -E '^quickstart:' "$out"; else status=1; quickstart="quick start FAILED"; cat "$out"; fi
rm -f "$out"
echo "tests/run.sh took $(($(date +%s) - started)) s"
# One closing line for the whole run: totals over every test project.
summary=$(awk '/^(Passed!|Failed!)/ {
  for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
} END { printf "%d passed, %d failed, %d skipped", p, f, s; if (s > 0) exit 1 }' "$log") || status=1
summary="$summary; $quickstart"
exit $status
