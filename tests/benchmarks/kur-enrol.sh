#!/usr/bin/env bash
# KUR enrolment under load: a throwaway PostgreSQL 15 with fsync on (the default), a throwaway RabbitMQ
# (tests/Verification.Testing), and Membership and KUR as two hosts in the load test's process, each on its own
# databases, publishing through their outboxes to RabbitMQ; banks enrol new borrowers at 1, 16 and 64 concurrent
# callers; prints enrolments/s and p50/p99 per level, then waits until every event (KurBorrowerEnrolled,
# ParticipantEnrolled, CoverageStarted) has been consumed and prints the counts.
# Usage: tests/benchmarks/kur-enrol.sh [seconds per level (default 20)] [levels (default 1,16,64)] [--membership-only] [--rate R]
#   --rate R: the callers together offer R enrolments/s, each on its own schedule, instead of one after another as fast as answered.
#   --membership-only: the same Membership calls KUR makes, straight from the client (no KUR): KUR's own cost is the difference.
# PG_STATEMENTS=N prints PostgreSQL's N costliest statements of the run at the end, planning time and plan count included.
# Needs postgresql-15 and rabbitmq-server (Debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_LEVEL=${1:-20}
LEVELS=${2:-1,16,64}
shift $(( $# < 2 ? $# : 2 ))
PG=/usr/lib/postgresql/15/bin
[[ -x $PG/initdb ]] || { echo "PostgreSQL 15 missing: apt-get install -y postgresql-15" >&2; exit 1; }
dotnet build -c Release tests/Verification.Kur.LoadTest -v q -nologo >/dev/null

work=$(mktemp -d /tmp/kur-bench.XXXXXX)
chmod 755 "$work"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_pg $PG/pg_ctl -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/pg"; [[ $(id -u) -eq 0 ]] && chown postgres "$work/pg"
as_pg $PG/initdb -D "$work/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
statements=""
[[ -n ${PG_STATEMENTS:-} ]] && statements="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on"
as_pg $PG/pg_ctl -D "$work/pg" -l "$work/pg/log" -w -o "-p $PGPORT -k $work/pg -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_connections=500 $statements" start >/dev/null
[[ -n ${PG_STATEMENTS:-} ]] && $PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
echo "== PostgreSQL 15 on port $PGPORT: fsync $($PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -c 'SHOW fsync'), synchronous_commit $($PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -c 'SHOW synchronous_commit')"
# Count this PostgreSQL's processes only: on a shared machine other engineers' servers run too.
KUR_BENCH_POSTGRES_PID=$(head -1 "$work/pg/postmaster.pid") \
dotnet tests/Verification.Kur.LoadTest/bin/Release/net10.0/Verification.Kur.LoadTest.dll \
  --postgres "Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=postgres" --seconds "$SECONDS_PER_LEVEL" --levels "$LEVELS" "$@"
if [[ -n ${PG_STATEMENTS:-} ]]; then
  echo "== PostgreSQL's ${PG_STATEMENTS} costliest statements (total ms executing + planning, calls, plans, mean µs executing and planning per call; the whole run)"
  $PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -F $'\t' -c "SELECT round(s.total_exec_time + s.total_plan_time)::bigint, s.calls, s.plans, round(1000 * s.total_exec_time / greatest(s.calls, 1))::bigint, round(1000 * s.total_plan_time / greatest(s.plans, 1))::bigint, d.datname, left(regexp_replace(s.query, '\s+', ' ', 'g'), 160)
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid ORDER BY s.total_exec_time + s.total_plan_time DESC LIMIT ${PG_STATEMENTS}"
fi
