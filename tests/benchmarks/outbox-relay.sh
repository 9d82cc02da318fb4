#!/usr/bin/env bash
# One module's outbox relay draining a backlog into RabbitMQ: a throwaway PostgreSQL (fsync off) and RabbitMQ
# (tests/Verification.Testing), N ParticipantEnrolled rows written to the outbox with COPY before the relay starts;
# prints events/s published (broker-confirmed and marked) and received by a consumer in the same process, and CPU per event.
# Usage: tests/benchmarks/outbox-relay.sh [events (default 50000)] [--batch N] [--events-per-message N] [--concurrency N] [--no-consumer]
# Needs postgresql-15 and rabbitmq-server (Debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release tests/Verification.Platform.Benchmarks -v q -nologo >/dev/null
exec dotnet tests/Verification.Platform.Benchmarks/bin/Release/net10.0/Verification.Platform.Benchmarks.dll "$@"
