#!/usr/bin/env bash
# Runs the README's quick start exactly as written, in a fresh clone of this repository's HEAD (a copy of the tree when
# it is not a git checkout), so the README cannot drift; tests/run.sh runs it after the test projects. Only the port
# differs (a free one, through the settings the README's commands already read) so it can run beside another suite.
# Exit 0 when every command succeeded; prints the transcript.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/verification-quickstart.XXXXXX)"
trap 'rm -rf "$work"' EXIT
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git clone -q "$repo" "$work/clone"
else
  # A checkout without its .git (an exported tree): copy it as a clone would hold it, without build output or data.
  mkdir "$work/clone"
  tar -C "$repo" --exclude=./.git --exclude='*/bin' --exclude='*/obj' --exclude=./data --exclude='*/node_modules' -cf - . | tar -C "$work/clone" -xf -
fi
cd "$work/clone"
awk '/<!-- quickstart:begin -->/{on=1;next} /<!-- quickstart:end -->/{on=0} on && !/^```/' README.md > "$work/quickstart.sh"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export Verification__Listen__Port="$port" VERIFICATION_ADDRESS="http://127.0.0.1:$port"
started=$(date +%s)
left_running() { ss -Hltnp "sport = :$port" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u; }
if bash -euo pipefail -c "source '$work/quickstart.sh'"; then
  echo "quickstart: every command worked, in $(( $(date +%s) - started )) s"
else
  status=$?
  echo "quickstart: FAILED (exit $status); host log:" >&2
  cat data/host.log >&2 || true
  pids="$(left_running)"; [ -z "$pids" ] || kill $pids
  exit 1
fi
sleep 2
# The block ends with `kill %1`: the host must be gone with it (else stop it by its id and fail).
if [ -n "$(left_running)" ]; then kill $(left_running); echo "quickstart: the host outlived 'kill %1'" >&2; exit 1; fi
grep -q ",REGISTERED," data/staff.results.csv
grep -q "NIK_SEX_MISMATCH" data/staff.results.csv
# The banner's other way in: the CLI packed and installed as a .NET tool from the local package, then run by its name.
# --skip-tool leaves it out (docs/benchmarks.md has the timings).
if [ "${1:-}" != "--skip-tool" ]; then
  tool_started=$(date +%s)
  dotnet pack services/Verification.Cli -c Release -o "$work/nupkg" -v q -nologo >/dev/null
  dotnet tool install --tool-path "$work/tools" --add-source "$work/nupkg" Verification.Cli >/dev/null
  "$work/tools/verification" --help | grep -q "interrupted"
  # No host runs any more: the installed tool says so with the documented exit code 5 (unavailable).
  set +e; "$work/tools/verification" health --address "$VERIFICATION_ADDRESS" >/dev/null 2>&1; tool_exit=$?; set -e
  [ "$tool_exit" -eq 5 ] || { echo "quickstart: the installed tool's health exited $tool_exit, expected 5" >&2; exit 1; }
  echo "quickstart: dotnet pack + dotnet tool install --tool-path worked, the installed 'verification' ran, in $(( $(date +%s) - tool_started )) s"
fi
echo "quickstart: all done in $(( $(date +%s) - started )) s"
