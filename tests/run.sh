#!/usr/bin/env bash
# Runs every test of the suite: builds the solution (warnings are errors) and runs each test project.
# Installs the Debian packages the tests need when run as root; otherwise says what to install and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || need+=(postgresql)
[[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || need+=(rabbitmq-server)
/usr/bin/python3 -c 'import grpc' 2>/dev/null || need+=(python3-grpcio)
/usr/bin/python3 -c 'import grpc_tools' 2>/dev/null || need+=(python3-grpc-tools)
command -v h2load >/dev/null || need+=(nghttp2-client)
# The portal's browser tests drive Debian's chromium (no browser download); without it they fail.
[[ -x /usr/bin/chromium ]] || need+=(chromium)
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

dotnet build Verification.sln -c Release -nologo -v q
log=$(mktemp)
trap 'rm -f "$log"' EXIT
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
# One closing line for the whole run: totals over every test project.
awk '/^(Passed!|Failed!)/ {
  for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
} END { printf "%d passed, %d failed, %d skipped\n", p, f, s; if (s > 0) exit 1 }' "$log" || status=1
exit $status
