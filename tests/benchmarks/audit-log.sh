#!/usr/bin/env bash
# Audit log on a durable throwaway PostgreSQL 15 (fsync and synchronous_commit on, stock settings otherwise):
# append rate (consumer inserts, appender drain, both at once) on an empty log and at SIZE entries, then inclusion and
# consistency proof latency (p50/p99) in process and through gRPC, the whole-log integrity check (in process and at the
# host's start) and an auditor's full verification with the CLI (`audit verify`, every entry downloaded and checked).
# Usage: tests/benchmarks/audit-log.sh [SIZE=1000000] [APPEND=100000] [PROOFS=2000] [--fill sql]   (needs Debian postgresql-15)
#   PG_SETTINGS="-c shared_buffers=4GB" tests/benchmarks/audit-log.sh …   adds server settings (a production-sized buffer cache)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=${1:-1000000}; APPEND=${2:-100000}; PROOFS=${3:-2000}
BIN=/usr/lib/postgresql/15/bin
[[ -x $BIN/initdb ]] || { echo "PostgreSQL 15 missing: apt-get install -y postgresql" >&2; exit 1; }
dotnet build -c Release tests/Verification.Audit.Benchmarks -v q -nologo >/dev/null
dotnet build -c Release services/Verification.Cli -v q -nologo >/dev/null
work=$(mktemp -d)
as_pg() { if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$work"; runuser -u postgres -- "$@"; else "$@"; fi; }
trap 'as_pg "$BIN/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$BIN/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$BIN/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=100 ${PG_SETTINGS:-}" start >/dev/null
[[ -n ${PG_SETTINGS:-} ]] && echo "PostgreSQL settings added: $PG_SETTINGS"
export VERIFICATION_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
dotnet tests/Verification.Audit.Benchmarks/bin/Release/net10.0/Verification.Audit.Benchmarks.dll --size "$SIZE" --append "$APPEND" --proofs "$PROOFS" --cli services/Verification.Cli/bin/Release/net10.0/verification.dll "${@:4}"
