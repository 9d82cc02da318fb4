#!/usr/bin/env bash
# Prakerja end to end at registry scale: seeds a throwaway PostgreSQL 15 with N synthetic participants (the Membership
# benchmark tool's seed command: binary COPY, the same code as `verification-host seed`), runs membership and prakerja
# in one host process on it (microservices mode, PostgreSQL, in-memory bus; Prakerja calls Membership over gRPC through
# the same server), then submits batches one after the other into the same Prakerja database, each as soon as the one
# before has streamed its last result: SubmitBatch (1,000 per message; 9 in 10 registered participants, 1 in 10 valid
# NIKs nobody registered), then every result with StreamBatchResults from offset 0, timed from the first upload byte to
# the last result, with a table of every batch's times at the end. Peak RSS of the host process is sampled from /proc.
# Usage: tests/benchmarks/prakerja-crosscheck.sh [participants (default 10000000)] [batch sizes (default 1000000)]
#   batch sizes: comma-separated (10000,1000000,10000), or one size for five batches of it.
#   PRAKERJA_BENCH_KEEP=DIR keeps the seeded PostgreSQL cluster in DIR and reuses it on the next run (no re-seeding).
# Needs postgresql-15 (Debian). PostgreSQL runs with fsync on (the default) and shared_buffers=2GB.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10000000}
M=${2:-1000000}
[[ $M == *,* ]] || M="$M,$M,$M,$M,$M"
PG=/usr/lib/postgresql/15/bin
[[ -x $PG/initdb ]] || { echo "PostgreSQL 15 missing: apt-get install -y postgresql-15" >&2; exit 1; }
echo "== $(date -u +%FT%TZ), $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet build -c Release tests/Verification.Membership.Benchmarks -v q -nologo >/dev/null
dotnet build -c Release tests/Verification.Prakerja.Benchmarks -v q -nologo >/dev/null
SEEDER="dotnet tests/Verification.Membership.Benchmarks/bin/Release/net10.0/Verification.Membership.Benchmarks.dll"
TOOL="dotnet tests/Verification.Prakerja.Benchmarks/bin/Release/net10.0/Verification.Prakerja.Benchmarks.dll"

KEEP=${PRAKERJA_BENCH_KEEP:-}
reuse=no
if [[ -n $KEEP ]]; then work=$KEEP; mkdir -p "$work"; [[ -f $work/seeded-$N ]] && reuse=yes; else work=$(mktemp -d /tmp/prakerja-bench.XXXXXX); fi
chmod 755 "$work"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  as_pg $PG/pg_ctl -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true
  [[ -n $KEEP ]] || rm -rf "$work"
}
trap cleanup EXIT
if [[ $reuse == no ]]; then
  rm -rf "$work/pg" "$work/data"; mkdir "$work/pg"; [[ $(id -u) -eq 0 ]] && chown postgres "$work/pg"
  as_pg $PG/initdb -D "$work/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg $PG/pg_ctl -D "$work/pg" -l "$work/pg/log" -w -o "-p $PGPORT -k $work/pg -c listen_addresses=127.0.0.1 -c shared_buffers=2GB -c max_connections=200 -c max_wal_size=8GB -c checkpoint_timeout=30min" start >/dev/null
psql() { $PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt "$@"; }
if [[ $reuse == no ]]; then psql -d postgres -c "CREATE DATABASE membership" -c "CREATE DATABASE prakerja" -c "CREATE DATABASE access"
else psql -d postgres -c "DROP DATABASE prakerja" -c "CREATE DATABASE prakerja"; fi # the registry is kept, Prakerja starts empty
MEMBERSHIP="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=membership;Maximum Pool Size=64"
PRAKERJA="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=prakerja;Maximum Pool Size=64"
ACCESS="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=access"

if [[ $reuse == no ]]; then
  echo "== seed $N participants (Membership's seed command, seed 1): binary COPY, then VACUUM (ANALYZE)"
  /usr/bin/time -f "seed process: %e s wall, %M KB peak RSS" $SEEDER seed --data "$work/data" --membership "$MEMBERSHIP" --access "$ACCESS" --count "$N" --seed 1 2>&1 | grep -v '^  '
  touch "$work/seeded-$N"
else
  echo "== reusing the registry seeded earlier in $work"
fi
psql -d membership -c "SELECT 'rows participants ' || (SELECT count(*) FROM participants) || ', coverages ' || (SELECT count(*) FROM coverages)"
echo "   load average after seeding: $(cut -d' ' -f1-3 /proc/loadavg)"

$TOOL serve --data "$work/data" --membership "$MEMBERSHIP" --prakerja "$PRAKERJA" --access "$ACCESS" > "$work/serve.out" 2>&1 &
for _ in $(seq 300); do grep -q listening "$work/serve.out" && break; sleep 0.1; done
grep -q listening "$work/serve.out" || { cat "$work/serve.out"; exit 1; }
PORT=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.out" | head -1 | cut -d: -f2)
SPID=$(grep -o 'pid [0-9]*' "$work/serve.out" | cut -d' ' -f2)
TOKEN=$(cat "$work/data/dev-credentials/prakerja-pmo.token")

peak_rss() { local peak=0 rss; while kill -0 "$SPID" 2>/dev/null && [[ ! -f "$work/stop-sampling" ]]; do rss=$(awk '/VmRSS/ {print $2}' /proc/$SPID/status); ((rss > peak)) && peak=$rss; sleep 0.2; done; echo "$peak"; }
rm -f "$work/stop-sampling"; peak_rss > "$work/rss" & sampler=$!
echo "== batches of $M recipients into one database"
status=0
$TOOL run "http://127.0.0.1:$PORT" "$TOKEN" "$N" 1 "$M" || status=$?
touch "$work/stop-sampling"; wait $sampler
echo "   host process (membership + prakerja) peak RSS during the batches: $(( $(cat "$work/rss") / 1024 )) MB; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Who analysed the recipients' table: the module's ANALYZE after a large upload, or autovacuum.
psql -d prakerja -c "SELECT 'prakerja_recipients analysed ' || analyze_count || ' times by the module, ' || autoanalyze_count || ' by autovacuum; vacuumed ' || autovacuum_count || ' times by autovacuum' FROM pg_stat_user_tables WHERE relname = 'prakerja_recipients'"
psql -d prakerja -c "SELECT 'prakerja rows ' || count(*) || ', with a NIK still stored ' || count(nik) FROM prakerja_recipients"
psql -d prakerja -c "SELECT 'size prakerja_recipients ' || pg_size_pretty(pg_total_relation_size('prakerja_recipients'))"
echo "== load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
