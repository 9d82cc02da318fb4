#!/usr/bin/env bash
# The auditor's trace page on a large audit log: a durable throwaway PostgreSQL 15 (fsync on), the log filled to SIZE
# entries with every hash computed in SQL (tests/Verification.Audit.Benchmarks --fill sql), then the Audit module and
# the portal in one host on it; an auditor signs in and loads /audit (a posted search) PAGES times per kind of search
# (participant, loan, correlation, member, event type, a participant never logged), one page at a time; prints
# p50/p95/p99 per kind and over all, with the load average. The target (issue 24): p95 under 300 ms at 1,000,000 entries.
# Usage: tests/benchmarks/portal-trace.sh [SIZE=1000000] [PAGES=300]   (needs Debian postgresql-15)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=${1:-1000000}; PAGES=${2:-300}
BIN=/usr/lib/postgresql/15/bin
[[ -x $BIN/initdb ]] || { echo "PostgreSQL 15 missing: apt-get install -y postgresql" >&2; exit 1; }
echo "== $(date -u +%FT%TZ), $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet build -c Release tests/Verification.Audit.Benchmarks -v q -nologo >/dev/null
work=$(mktemp -d)
as_pg() { if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$work"; runuser -u postgres -- "$@"; else "$@"; fi; }
trap 'as_pg "$BIN/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$BIN/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$BIN/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=512MB" start >/dev/null
export VERIFICATION_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
dotnet tests/Verification.Audit.Benchmarks/bin/Release/net10.0/Verification.Audit.Benchmarks.dll --size "$SIZE" --fill sql --portal-pages "$PAGES"
echo "== done $(date -u +%FT%TZ), load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
