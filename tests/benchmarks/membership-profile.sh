#!/bin/bash
# Where the Membership module's CPU goes under VerifyMembership at 32 in flight (issue 17): seeds a throwaway PostgreSQL
# with N participants, serves the module alone (as membership-verify.sh does) with perf maps on, runs h2load -c 4 -m 8
# on one fixed NIK (the first participant: the same answer every run), prints rate and the module's CPU per call, then
# records 12 s with `perf record -g` and writes the flat and inclusive reports to the output folder.
# Usage: tests/benchmarks/membership-profile.sh [participants (1000000)] [output folder (/tmp/membership-profile)]
#   SKIP_PERF=1: rates only (to compare runtime settings, given in EXTRA_ENV, e.g. EXTRA_ENV="DOTNET_gcServer=0").
# Needs postgresql-15, nghttp2-client and linux-perf (Debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$(realpath -m "${2:-/tmp/membership-profile}")
mkdir -p "$OUT"
dotnet build -c Release tests/Verification.Membership.Benchmarks -v q -nologo >/dev/null
N=${1:-1000000}
PG=/usr/lib/postgresql/15/bin
TOOL="dotnet tests/Verification.Membership.Benchmarks/bin/Release/net10.0/Verification.Membership.Benchmarks.dll"
work=$(mktemp -d /tmp/membership-prof.XXXXXX); chmod 755 "$work"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { kill $(jobs -p) 2>/dev/null || true; as_pg $PG/pg_ctl -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir "$work/pg"; [[ $(id -u) -eq 0 ]] && chown postgres "$work/pg"
as_pg $PG/initdb -D "$work/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg $PG/pg_ctl -D "$work/pg" -l "$work/pg/log" -w -o "-p $PGPORT -k $work/pg -c listen_addresses=127.0.0.1 -c shared_buffers=2GB -c max_connections=200" start >/dev/null
psql() { $PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt "$@"; }
psql -d postgres -c "CREATE DATABASE membership" -c "CREATE DATABASE access"
MEMBERSHIP="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=membership;Maximum Pool Size=64"
ACCESS="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=access"
HOSTARGS=(--data "$work/data" --membership "$MEMBERSHIP" --access "$ACCESS")
$TOOL seed "${HOSTARGS[@]}" --count "$N" --seed 1 > /dev/null 2>&1
env DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 ${EXTRA_ENV:-} $TOOL serve "${HOSTARGS[@]}" > "$work/serve.out" 2>&1 &
for _ in $(seq 300); do grep -q listening "$work/serve.out" && break; sleep 0.1; done
PORT=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.out" | head -1 | cut -d: -f2)
SPID=$(grep -o 'pid [0-9]*' "$work/serve.out" | cut -d' ' -f2)
TOKEN=$(cat "$work/data/dev-credentials/prakerja-pmo.token")
$TOOL sample "$MEMBERSHIP" 1000 "$work/niks.txt"
NIK=$(psql -d membership -c "SELECT nik FROM participants ORDER BY id LIMIT 1"); echo "NIK fixed: first participant"
$TOOL body "$NIK" > "$work/verify.bin"
path=/verification.membership.v1.MembershipService/VerifyMembership
h2() { h2load -n "$1" -c 4 -m 8 -t 1 -d "$work/verify.bin" -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path" | grep -E "finished in|requests:|time for request" ; }
echo "== warm-up"; h2 600000
echo "== measured (32 in flight), with process CPU"
t0=$(awk '{print $14+$15}' /proc/$SPID/stat)
h2 600000
t1=$(awk '{print $14+$15}' /proc/$SPID/stat)
echo "module CPU during the run: $(( (t1 - t0) * 10 )) ms, $(( (t1 - t0) * 10000 / 600000 )) µs per call"
[[ -n ${SKIP_PERF:-} ]] && { h2 600000; exit 0; }
echo "== perf record during the next run"
perf record -F 1999 -g -p "$SPID" -o "$OUT/perf.data" -- sleep 12 > /dev/null 2>&1 &
PERF=$!
h2 300000
wait $PERF || true
perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.2 2>/dev/null | grep -v "^#" | grep -v "^$" | head -150 > "$OUT/flat.txt"
perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v "^#" | grep -v "^$" | head -200 > "$OUT/inclusive.txt"
echo "reports: $OUT/flat.txt, $OUT/inclusive.txt"
