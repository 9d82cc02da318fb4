#!/usr/bin/env bash
# Rentan: a throwaway PostgreSQL 15 with fsync on (the default), a throwaway RabbitMQ (tests/Verification.Testing), and
# Membership and Rentan as two hosts in the load test's process, each on its own databases, publishing through their
# outboxes to RabbitMQ; the development sponsor uploads an N-row DTSEN extract, enrols the same N workers in one
# EnrolWorkers call (then again: all UNCHANGED), uploads a December extract and runs the December update; prints rows/s
# for each step, then waits until every enrolment, renewal and end event has been consumed.
# Each step is also timed until both outboxes are empty, with CPU per row of this process and of PostgreSQL.
# Usage: tests/benchmarks/rentan-enrol.sh [rows (default 100000)] [--registry N (seed Membership with N participants first)]
#   [--warm-up W (default 5000): W other workers enrolled and timed first, so the timed list runs on compiled code]
#   [--warm-up-lists K (default 1): the warm-up sent as K lists, each printing what the JIT compiled during it]
# RUN_WITH prefixes the load test's command, e.g. RUN_WITH="dotnet-trace collect --format Speedscope -o /tmp/rentan.nettrace --"
# for a CPU profile (tests/benchmarks/speedscope-top.py summarises it); PG_SHARED_BUFFERS (default 512MB), e.g. 2GB with --registry 10000000.
# PG_STATEMENTS=N prints PostgreSQL's N costliest statements of the run (pg_stat_statements, every database) at the end;
# GC_ALLOCATIONS=1 prints the bytes this process allocated by type (the runtime's allocation ticks) at the end.
# PG_EXPLAIN_MS=M logs the plan of every statement that ran M ms or longer (auto_explain) and copies the log to /tmp/rentan-pg.log.
# Needs postgresql-15 and rabbitmq-server (Debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${1:-100000}
shift $(( $# < 1 ? $# : 1 ))
PG=/usr/lib/postgresql/15/bin
[[ -x $PG/initdb ]] || { echo "PostgreSQL 15 missing: apt-get install -y postgresql-15" >&2; exit 1; }
dotnet build -c Release tests/Verification.Rentan.LoadTest -v q -nologo >/dev/null

work=$(mktemp -d /tmp/rentan-bench.XXXXXX)
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
[[ -n ${PG_STATEMENTS:-} ]] && statements="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
[[ -n ${PG_EXPLAIN_MS:-} ]] && statements="$statements -c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=${PG_EXPLAIN_MS}ms -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on"
as_pg $PG/pg_ctl -D "$work/pg" -l "$work/pg/log" -w -o "-p $PGPORT -k $work/pg -c listen_addresses=127.0.0.1 -c shared_buffers=${PG_SHARED_BUFFERS:-512MB} -c max_connections=500 $statements" start >/dev/null
[[ -n ${PG_STATEMENTS:-} ]] && $PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
echo "== PostgreSQL 15 on port $PGPORT: fsync $($PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -c 'SHOW fsync'), synchronous_commit $($PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -c 'SHOW synchronous_commit')"
${RUN_WITH:-} dotnet tests/Verification.Rentan.LoadTest/bin/Release/net10.0/Verification.Rentan.LoadTest.dll \
  --postgres "Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=postgres" --postgres-pid "$(head -1 "$work/pg/postmaster.pid")" --rows "$ROWS" "$@"
if [[ -n ${PG_STATEMENTS:-} ]]; then
  echo "== PostgreSQL's ${PG_STATEMENTS} costliest statements (total ms, calls, rows, mean µs per call; the whole run, warm-up included)"
  $PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -F $'\t' -c "SELECT round(s.total_exec_time)::bigint, s.calls, s.rows, round(1000 * s.total_exec_time / s.calls)::bigint, d.datname, left(regexp_replace(s.query, '\s+', ' ', 'g'), 160)
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid ORDER BY s.total_exec_time DESC LIMIT ${PG_STATEMENTS}"
  echo "== rows inserted, updated (of them HOT) and deleted per table"
  for db in $($PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -c "SELECT datname FROM pg_database WHERE datname LIKE 'rentanload_%' AND datname NOT LIKE '%access%'"); do
    $PG/psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$db" -qAt -F $'\t' -c "SELECT current_database(), relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd > 0 ORDER BY relname"
  done
fi
if [[ -n ${PG_EXPLAIN_MS:-} ]]; then cp "$work/pg/log" /tmp/rentan-pg.log; echo "== plans of statements of ${PG_EXPLAIN_MS} ms or longer: /tmp/rentan-pg.log"; fi
