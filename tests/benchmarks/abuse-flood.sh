#!/usr/bin/env bash
# One bank's latency while another member floods: the whole suite (monolithic, SQLite, development members) in its own
# process; bank-bri calls VerifyMembership at a fixed rate (h2load --rps, 1 connection, so latency is not queueing in the
# client) for D seconds, three times:
#   quiet:           nothing else;
#   denial flood:    the auditor calls KUR EnrolBorrower (bank-only: PERMISSION_DENIED, then RESOURCE_EXHAUSTED) as fast
#                    as 4 connections x 32 streams allow;
#   stranger flood:  the same without credentials (UNAUTHENTICATED, then RESOURCE_EXHAUSTED).
# Prints the bank's p50/p99/max from h2load's --log-file, the flood's calls per second, and the audit log's AccessDenied
# rows after each phase (they grow by a bounded number, whatever the flood's size).
# Usage: tests/benchmarks/abuse-flood.sh [bank calls per second (200)] [seconds per phase (20)]
# Needs nghttp2-client (h2load) and sqlite3 (Debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
RPS=${1:-200}
D=${2:-20}
command -v h2load >/dev/null || { echo "h2load missing: apt-get install -y nghttp2-client" >&2; exit 1; }
echo "== $(date -u +%FT%TZ), $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet build -c Release services/Verification.Host -v q -nologo >/dev/null

work=$(mktemp -d /tmp/abuse-flood.XXXXXX)
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dotnet services/Verification.Host/bin/Release/net10.0/verification-host.dll --Verification:Listen:Port="$PORT" \
  --Verification:Listen:RestPort= --Verification:Database:DataDirectory="$work/data" > "$work/host.out" 2>&1 &

# VerifyMembershipRequest { nik: "3201010101900001" } and an empty EnrolBorrowerRequest, each as one gRPC message.
printf '\x00\x00\x00\x00\x12\x0a\x103201010101900001' > "$work/verify.bin"
printf '\x00\x00\x00\x00\x00' > "$work/empty.bin"
URL="http://127.0.0.1:$PORT"
for _ in $(seq 600); do [[ -f "$work/data/dev-credentials/bank-bri.token" ]] && h2load -n 1 -c 1 -d "$work/verify.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
  -H "authorization: Bearer $(cat "$work/data/dev-credentials/bank-bri.token")" "$URL/verification.membership.v1.MembershipService/VerifyMembership" 2>/dev/null | grep -q '1 succeeded' && break; sleep 0.2; done
BANK=$(cat "$work/data/dev-credentials/bank-bri.token")
AUDITOR=$(cat "$work/data/dev-credentials/auditor-bpk.token")
GRPC=(-H 'content-type: application/grpc' -H 'te: trailers')

bank() { h2load -c 1 -m 1 -t 1 --rps "$RPS" -n $((RPS * D)) -d "$work/verify.bin" "${GRPC[@]}" -H "authorization: Bearer $BANK" --log-file="$1" "$URL/verification.membership.v1.MembershipService/VerifyMembership" > "$1.out"; }
flood() { h2load -c 4 -m 32 -t 1 -D $((D + 2)) -d "$work/empty.bin" "${GRPC[@]}" "$@" "$URL/verification.kur.v1.KurService/EnrolBorrower"; }
percentiles() { sort -n -k3 "$1" | awk '{a[NR]=$3} END {printf "p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d calls)", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000, a[NR]/1000, NR}'; }
denials() { command -v sqlite3 >/dev/null && sqlite3 "file:$work/data/audit.db?mode=ro" \
  "SELECT (SELECT count(*) FROM audit_entries WHERE event_type='AccessDenied') + (SELECT count(*) FROM audit_pending_events WHERE event_type='AccessDenied' AND event_id NOT IN (SELECT event_id FROM audit_entries))" 2>/dev/null || echo "?"; }

h2load -c 1 -m 1 -n 2000 -d "$work/verify.bin" "${GRPC[@]}" -H "authorization: Bearer $BANK" "$URL/verification.membership.v1.MembershipService/VerifyMembership" > /dev/null  # warm-up
for phase in quiet denial stranger; do
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  case $phase in
    quiet) bank "$work/$phase.log" ;;
    denial) flood -H "authorization: Bearer $AUDITOR" > "$work/flood.out" & fpid=$!; sleep 1; bank "$work/$phase.log"; wait $fpid || true ;;
    stranger) flood > "$work/flood.out" & fpid=$!; sleep 1; bank "$work/$phase.log"; wait $fpid || true ;;
  esac
  line="$phase: bank $(percentiles "$work/$phase.log"), $(grep -o '[0-9]* failed' "$work/$phase.log.out" | head -1)"
  [[ $phase != quiet ]] && line+=", flood $(grep -o 'finished in [^,]*, [0-9.]* req/s' "$work/flood.out")"
  echo "$line; audit AccessDenied rows so far $(denials); load average $load_before -> $(cut -d' ' -f1 /proc/loadavg)"
done
