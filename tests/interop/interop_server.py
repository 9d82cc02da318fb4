#!/usr/bin/python3
"""Reference grpc.testing.TestService server on grpcio (gRPC C-core).

Implements the server features of grpc's doc/interop-test-descriptions.md:
EmptyCall, UnaryCall, CacheableUnaryCall, StreamingInputCall,
StreamingOutputCall, FullDuplexCall, HalfDuplexCall, CompressedRequest,
CompressedResponse, Echo Status, Echo Metadata and ResponseParameters.interval_us.
UnimplementedCall (and the whole UnimplementedService) is deliberately absent,
so grpcio answers those with UNIMPLEMENTED.

    /usr/bin/python3 interop_server.py --port 0 [--use_tls --cert F --key F]

Prints exactly one line "listening on 127.0.0.1:PORT" on stdout once ready and
serves until SIGTERM/SIGINT.
"""

import argparse
import logging
import signal
import sys
import threading
import time
from concurrent import futures
from typing import Iterable, Iterator

import grpc

from interop_common import RAW_COMPRESSION_OPTIONS, Received, add_bool_flag, raw_deserializer
from protos import empty_pb2, messages_pb2

_LOG = logging.getLogger("interop_server")

SERVICE_NAME = "grpc.testing.TestService"
ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"

# grpcio can only abort with its own enum, so map wire codes onto it.
_STATUS_BY_CODE = {status.value[0]: status for status in grpc.StatusCode}


def _echo_metadata(context: grpc.ServicerContext, extra_initial=()) -> None:
    """Echo Metadata: initial key back as initial metadata, -bin key as trailers.

    Initial metadata can be sent only once, so other headers come in extra_initial.
    """
    received = {entry.key: entry.value for entry in context.invocation_metadata()}
    initial = list(extra_initial)
    if ECHO_INITIAL_KEY in received:
        initial.append((ECHO_INITIAL_KEY, received[ECHO_INITIAL_KEY]))
    if initial:
        context.send_initial_metadata(tuple(initial))
    if ECHO_TRAILING_KEY in received:
        context.set_trailing_metadata(((ECHO_TRAILING_KEY, received[ECHO_TRAILING_KEY]),))


def _check_expected_compression(received: Received, context: grpc.ServicerContext) -> None:
    """CompressedRequest: fail with INVALID_ARGUMENT if expect_compressed does not match.

    Only enforced when the client set the field; absent means "don't care".
    """
    if not received.message.HasField("expect_compressed"):
        return
    expected = received.message.expect_compressed.value
    if expected and not received.compressed:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "expected a compressed request")
    if not expected and received.compressed:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "expected an uncompressed request")


def _maybe_echo_status(request, context: grpc.ServicerContext) -> None:
    """Echo Status: close the call with the requested code and message."""
    if not request.HasField("response_status") or request.response_status.code == 0:
        return
    code = _STATUS_BY_CODE.get(request.response_status.code, grpc.StatusCode.UNKNOWN)
    context.abort(code, request.response_status.message)


def _check_response_type(request, context: grpc.ServicerContext) -> None:
    # COMPRESSABLE is the only type; proto3 keeps unknown enum values as ints.
    if request.response_type != messages_pb2.COMPRESSABLE:
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"unsupported response_type {request.response_type}",
        )


def _payload(size: int, context: grpc.ServicerContext) -> messages_pb2.Payload:
    if size < 0:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"negative response size {size}")
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(size))


def _wants_compression(parameters: Iterable[messages_pb2.ResponseParameters]) -> bool:
    return any(p.compressed.value for p in parameters)


class TestService:
    """Handlers receive interop_common.Received (message + compressed flag)."""

    def empty_call(self, received: Received, context):
        _echo_metadata(context)
        return empty_pb2.Empty()

    def unary_call(self, received: Received, context):
        request = received.message
        # Compression is chosen when initial metadata goes out, so set it first.
        if request.response_compressed.value:
            context.set_compression(grpc.Compression.Gzip)
        _echo_metadata(context)
        _check_expected_compression(received, context)
        _check_response_type(request, context)
        _maybe_echo_status(request, context)
        return messages_pb2.SimpleResponse(payload=_payload(request.response_size, context))

    def cacheable_unary_call(self, received: Received, context):
        # The request is ignored; a fresh timestamp proves whether a cache answered.
        _echo_metadata(context, extra_initial=(("cache-control", "max-age=60, public"),))
        body = str(time.time_ns()).encode("ascii")
        return messages_pb2.SimpleResponse(
            payload=messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=body)
        )

    def streaming_input_call(self, requests: Iterator[Received], context):
        _echo_metadata(context)
        total = 0
        for received in requests:
            _check_expected_compression(received, context)
            total += len(received.message.payload.body)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def streaming_output_call(self, received: Received, context):
        request = received.message
        compressing = _wants_compression(request.response_parameters)
        if compressing:
            context.set_compression(grpc.Compression.Gzip)
        _echo_metadata(context)
        _check_response_type(request, context)
        _maybe_echo_status(request, context)
        yield from self._respond(request.response_parameters, compressing, context)

    def full_duplex_call(self, requests: Iterator[Received], context):
        started = False
        compressing = False
        for received in requests:
            request = received.message
            if not started:
                # Call-level gzip must be decided before initial metadata is sent,
                # so the first request decides (see _respond for the limitation).
                compressing = _wants_compression(request.response_parameters)
                if compressing:
                    context.set_compression(grpc.Compression.Gzip)
                _echo_metadata(context)
                started = True
            _check_response_type(request, context)
            _maybe_echo_status(request, context)
            yield from self._respond(request.response_parameters, compressing, context)
        if not started:
            _echo_metadata(context)  # empty stream: still echo metadata

    def half_duplex_call(self, requests: Iterator[Received], context):
        # Buffer everything until the client half-closes, then answer in order.
        buffered = [received.message for received in requests]
        compressing = any(_wants_compression(r.response_parameters) for r in buffered)
        if compressing:
            context.set_compression(grpc.Compression.Gzip)
        _echo_metadata(context)
        for request in buffered:
            _check_response_type(request, context)
            _maybe_echo_status(request, context)
            yield from self._respond(request.response_parameters, compressing, context)

    @staticmethod
    def _respond(parameters, compressing: bool, context):
        """One response per ResponseParameters, honouring interval_us and compressed.

        grpcio compresses per call (set_compression, fixed once initial metadata
        is sent) and can only switch it *off* per message
        (disable_next_message_compression), so a message that asks for
        compression gets it only if the call is compressing.  C-core also sends
        a message uncompressed when gzip would make it bigger (tiny payloads).
        """
        for params in parameters:
            if params.interval_us > 0:
                time.sleep(params.interval_us / 1_000_000)  # sleep *before* sending
            if params.compressed.value and not compressing:
                _LOG.warning("compressed response requested after call compression was fixed")
            if compressing and not params.compressed.value:
                context.disable_next_message_compression()
            yield messages_pb2.StreamingOutputCallResponse(payload=_payload(params.size, context))


def _generic_handler(service: TestService) -> grpc.GenericRpcHandler:
    """Method table built by hand so every handler sees the compressed flag."""
    simple = raw_deserializer(messages_pb2.SimpleRequest)
    streaming_output = raw_deserializer(messages_pb2.StreamingOutputCallRequest)

    def serialize(message):
        return message.SerializeToString()

    methods = {
        "EmptyCall": grpc.unary_unary_rpc_method_handler(
            service.empty_call, raw_deserializer(empty_pb2.Empty), serialize
        ),
        "UnaryCall": grpc.unary_unary_rpc_method_handler(
            service.unary_call, simple, serialize
        ),
        "CacheableUnaryCall": grpc.unary_unary_rpc_method_handler(
            service.cacheable_unary_call, simple, serialize
        ),
        "StreamingOutputCall": grpc.unary_stream_rpc_method_handler(
            service.streaming_output_call, streaming_output, serialize
        ),
        "StreamingInputCall": grpc.stream_unary_rpc_method_handler(
            service.streaming_input_call,
            raw_deserializer(messages_pb2.StreamingInputCallRequest),
            serialize,
        ),
        "FullDuplexCall": grpc.stream_stream_rpc_method_handler(
            service.full_duplex_call, streaming_output, serialize
        ),
        "HalfDuplexCall": grpc.stream_stream_rpc_method_handler(
            service.half_duplex_call, streaming_output, serialize
        ),
        # UnimplementedCall intentionally missing -> UNIMPLEMENTED.
    }
    return grpc.method_handlers_generic_handler(SERVICE_NAME, methods)


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1; 0 = pick one")
    add_bool_flag(parser, "--use_tls", "serve TLS (requires --cert and --key)")
    parser.add_argument("--cert", help="PEM certificate chain for TLS")
    parser.add_argument("--key", help="PEM private key for TLS")
    args = parser.parse_args(argv)
    if args.use_tls and not (args.cert and args.key):
        parser.error("--use_tls needs --cert and --key")
    return args


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    args = _parse_args(argv)

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32),
        handlers=(_generic_handler(TestService()),),
        options=RAW_COMPRESSION_OPTIONS,
    )
    address = f"127.0.0.1:{args.port}"
    if args.use_tls:
        with open(args.key, "rb") as key, open(args.cert, "rb") as cert:
            credentials = grpc.ssl_server_credentials(((key.read(), cert.read()),))
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        _LOG.error("could not bind %s", address)
        return 1

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    # Event.wait() with a timeout keeps the main thread responsive to signals.
    while not stop.wait(timeout=1.0):
        pass
    _LOG.info("shutting down")
    server.stop(grace=2).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
