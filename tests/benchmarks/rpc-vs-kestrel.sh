#!/usr/bin/env bash
# Unary gRPC on our server vs a bare Kestrel HTTP/2 endpoint returning the same bytes (status in trailers).
# Alternates h2load runs, nine rounds each by default, and prints both medians and their ratio.
# Usage: tests/benchmarks/rpc-vs-kestrel.sh [requests-per-round (300000)] [rounds (9)] [warm-up rounds (4)]   (needs Debian nghttp2-client)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-300000}
ROUNDS=${2:-9}
# Fewer than four: our server, with more methods to tier up than bare Kestrel, can still be compiling in the first rounds.
WARMUP=${3:-4}
command -v h2load >/dev/null || { echo "h2load missing: apt-get install -y nghttp2-client" >&2; exit 1; }
dotnet build -c Release tests/Verification.Rpc.Benchmarks -v q -nologo >/dev/null
BIN=tests/Verification.Rpc.Benchmarks/bin/Release/net10.0/Verification.Rpc.Benchmarks.dll
work=$(mktemp -d)
# The servers start inside $(…), a subshell, so `jobs` cannot see them: their pids go to files.
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
start() { dotnet "$BIN" "$1" 0 > "$work/$1.out" 2>&1 & echo $! > "$work/$1.pid"; for _ in $(seq 100); do grep -q listening "$work/$1.out" && break; sleep 0.1; done; grep -o '[0-9]*$' "$work/$1.out"; }
RPC_PORT=$(start rpc); BARE_PORT=$(start bare)
# SimpleRequest{response_size=10}, framed
printf '\x00\x00\x00\x00\x02\x10\x0a' > "$work/req.bin"
path=/grpc.testing.TestService/UnaryCall
# Both must put grpc-status: 0 in the trailers.
for p in $RPC_PORT $BARE_PORT; do
  nghttp -v -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' -d "$work/req.bin" "http://127.0.0.1:$p$path" 2>&1 | grep -aq 'recv (stream_id=13) grpc-status: 0' \
    || { echo "port $p: no grpc-status: 0 in trailers" >&2; exit 1; }
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime of a process, in clock ticks
run() { # port, server name → "requests/s server-CPU-µs-per-call", failing on any failed request
  local port=$1 pid before out after
  pid=$(cat "$work/$2.pid"); before=$(cpu_ticks "$pid")
  out=$(h2load -n "$N" -c 16 -m 32 -t 1 -d "$work/req.bin" -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$port$path")
  after=$(cpu_ticks "$pid")
  echo "$out" | grep -q ' 0 failed, 0 errored' || { echo "$out" >&2; echo "failed requests" >&2; exit 1; }
  echo "$out" | awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$N" '/finished in/ {gsub(",","",$4); printf "%s %.2f\n", $4, t / hz / n * 1e6}'
}
latency() { h2load -n 20000 -c 1 -m 1 -t 1 -d "$work/req.bin" -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$1$path" | awk '/time for request/ {print $5}'; }
# Warm-up: both servers alike (tiered JIT and dynamic PGO settle over the first few hundred thousand calls).
for _ in $(seq "$WARMUP"); do run "$RPC_PORT" rpc >/dev/null; run "$BARE_PORT" bare >/dev/null; done
# Throughput swings with the scheduler on two cores; the server's CPU time per call (h2load runs in its own process) is the steadier figure.
rpc=(); bare=(); rpc_cpu=(); bare_cpu=()
for round in $(seq "$ROUNDS"); do
  read -r r rc < <(run "$RPC_PORT" rpc); read -r b bc < <(run "$BARE_PORT" bare)
  rpc+=("$r"); bare+=("$b"); rpc_cpu+=("$rc"); bare_cpu+=("$bc")
  echo "round $round: rpc $r req/s ($rc µs CPU/call), bare $b req/s ($bc µs CPU/call)"
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
mr=$(median "${rpc[@]}"); mb=$(median "${bare[@]}")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc)"
echo "median rpc:  $mr req/s"
echo "median bare: $mb req/s"
awk -v r="$mr" -v b="$mb" 'BEGIN { printf "ratio rpc/bare: %.3f\n", r / b }'
mrc=$(median "${rpc_cpu[@]}"); mbc=$(median "${bare_cpu[@]}")
awk -v r="$mrc" -v b="$mbc" 'BEGIN { printf "median server CPU per call: rpc %.2f µs, bare %.2f µs, ratio bare/rpc %.3f\n", r, b, b / r }'
echo "mean latency at concurrency 1: rpc $(latency "$RPC_PORT"), bare $(latency "$BARE_PORT")"
dotnet "$BIN" alloc 50000
