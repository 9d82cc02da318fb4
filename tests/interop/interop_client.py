#!/usr/bin/python3
"""Reference interop client on grpcio (gRPC C-core).

Runs test cases of grpc's doc/interop-test-descriptions.md against a
grpc.testing.TestService server and prints one line per case:

    PASS <case>
    FAIL <case>: <reason>

followed by "N passed, M failed".  Exit status is 1 if any case failed.

    /usr/bin/python3 interop_client.py --server_host 127.0.0.1 --server_port N \
        [--test_cases a,b,c|all] [--use_tls --ca_file F [--server_host_override H]]
"""

import argparse
import queue
import sys
import threading
import time
from typing import Callable, Dict, Optional

import grpc

from interop_common import RAW_COMPRESSION_OPTIONS, add_bool_flag, raw_deserializer
from protos import empty_pb2, messages_pb2, test_pb2_grpc

Payload = messages_pb2.Payload
SimpleRequest = messages_pb2.SimpleRequest
StreamingInputCallRequest = messages_pb2.StreamingInputCallRequest
StreamingOutputCallRequest = messages_pb2.StreamingOutputCallRequest
ResponseParameters = messages_pb2.ResponseParameters
BoolValue = messages_pb2.BoolValue
EchoStatus = messages_pb2.EchoStatus

ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
SPECIAL_STATUS_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"

# Request/response sizes used throughout the descriptions.
STREAM_REQUEST_SIZES = (27182, 8, 1828, 45904)
STREAM_RESPONSE_SIZES = (31415, 9, 2653, 58979)


class CaseFailure(Exception):
    """An assertion of the test description did not hold."""


def expect(condition: bool, reason: str) -> None:
    if not condition:
        raise CaseFailure(reason)


def expect_payload(payload: Payload, size: int, what: str = "response") -> None:
    """Payload body must be `size` zero bytes."""
    body = payload.body
    expect(len(body) == size, f"{what} payload is {len(body)} bytes, expected {size}")
    expect(body == bytes(size), f"{what} payload is not all zeros")


def expect_rpc_error(code: grpc.StatusCode, details: Optional[str], call: Callable[[], object]):
    """Runs call(), which must fail with `code` (and exactly `details` if given)."""
    try:
        call()
    except grpc.RpcError as error:
        expect(
            error.code() == code,
            f"expected status {code.name}, got {error.code().name}: {error.details()!r}",
        )
        if details is not None:
            expect(
                error.details() == details,
                f"expected status message {details!r}, got {error.details()!r}",
            )
        return error
    raise CaseFailure(f"expected status {code.name}, but the call succeeded")


def metadata_values(metadata, key: str) -> list:
    return [entry.value for entry in (metadata or ()) if entry.key == key]


def large_request(**fields) -> SimpleRequest:
    return SimpleRequest(response_size=314159, payload=Payload(body=bytes(271828)), **fields)


class RequestPipe:
    """Request iterator fed by the test, so it can wait for each reply (ping-pong)."""

    _CLOSED = object()

    def __init__(self):
        self._queue = queue.Queue()

    def __iter__(self):
        return self

    def __next__(self):
        item = self._queue.get()
        if item is self._CLOSED:
            raise StopIteration
        return item

    def send(self, request) -> None:
        self._queue.put(request)

    def close(self) -> None:
        """Half-close; also releases grpcio's request-consuming thread."""
        self._queue.put(self._CLOSED)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CaseContext:
    """What one case gets: stubs, a channel factory and its own deadline."""

    def __init__(self, channel, open_channel, deadline_s: float):
        self.stub = test_pb2_grpc.TestServiceStub(channel)
        self.unimplemented_stub = test_pb2_grpc.UnimplementedServiceStub(channel)
        self.open_channel = open_channel
        self._deadline = time.monotonic() + deadline_s

    def timeout(self) -> float:
        """Remaining time of the case, used as each RPC's deadline."""
        remaining = self._deadline - time.monotonic()
        expect(remaining > 0, "case deadline exceeded")
        return remaining


CASES: Dict[str, Callable[[CaseContext], None]] = {}


def case(function):
    CASES[function.__name__] = function
    return function


@case
def empty_unary(ctx: CaseContext) -> None:
    response = ctx.stub.EmptyCall(empty_pb2.Empty(), timeout=ctx.timeout())
    expect(isinstance(response, empty_pb2.Empty), f"unexpected response {response!r}")


@case
def large_unary(ctx: CaseContext) -> None:
    response = ctx.stub.UnaryCall(large_request(), timeout=ctx.timeout())
    expect_payload(response.payload, 314159)


@case
def client_streaming(ctx: CaseContext) -> None:
    requests = (StreamingInputCallRequest(payload=Payload(body=bytes(n))) for n in STREAM_REQUEST_SIZES)
    response = ctx.stub.StreamingInputCall(requests, timeout=ctx.timeout())
    expect(
        response.aggregated_payload_size == 74922,
        f"aggregated_payload_size {response.aggregated_payload_size}, expected 74922",
    )


@case
def server_streaming(ctx: CaseContext) -> None:
    request = StreamingOutputCallRequest(
        response_parameters=[ResponseParameters(size=n) for n in STREAM_RESPONSE_SIZES]
    )
    responses = list(ctx.stub.StreamingOutputCall(request, timeout=ctx.timeout()))
    expect(len(responses) == 4, f"got {len(responses)} responses, expected 4")
    for index, (response, size) in enumerate(zip(responses, STREAM_RESPONSE_SIZES)):
        expect_payload(response.payload, size, f"response #{index + 1}")


@case
def ping_pong(ctx: CaseContext) -> None:
    with RequestPipe() as pipe:
        responses = ctx.stub.FullDuplexCall(pipe, timeout=ctx.timeout())
        for index, (request_size, response_size) in enumerate(
            zip(STREAM_REQUEST_SIZES, STREAM_RESPONSE_SIZES)
        ):
            pipe.send(
                StreamingOutputCallRequest(
                    response_parameters=[ResponseParameters(size=response_size)],
                    payload=Payload(body=bytes(request_size)),
                )
            )
            response = next(responses, None)  # wait for the reply before the next ping
            expect(response is not None, f"stream ended after {index} responses, expected 4")
            expect_payload(response.payload, response_size, f"response #{index + 1}")
        pipe.close()
        extra = list(responses)
        expect(not extra, f"got {4 + len(extra)} responses, expected 4")
        expect(responses.code() == grpc.StatusCode.OK, f"call ended with {responses.code().name}")


@case
def empty_stream(ctx: CaseContext) -> None:
    responses = ctx.stub.FullDuplexCall(iter(()), timeout=ctx.timeout())
    received = list(responses)
    expect(not received, f"got {len(received)} responses, expected 0")
    expect(responses.code() == grpc.StatusCode.OK, f"call ended with {responses.code().name}")


def _expect_echoed_metadata(call, step: str) -> None:
    initial = metadata_values(call.initial_metadata(), ECHO_INITIAL[0])
    expect(initial == [ECHO_INITIAL[1]], f"{step}: initial metadata {ECHO_INITIAL[0]} = {initial!r}")
    trailing = metadata_values(call.trailing_metadata(), ECHO_TRAILING[0])
    expect(trailing == [ECHO_TRAILING[1]], f"{step}: trailing metadata {ECHO_TRAILING[0]} = {trailing!r}")


@case
def custom_metadata(ctx: CaseContext) -> None:
    metadata = (ECHO_INITIAL, ECHO_TRAILING)

    response, call = ctx.stub.UnaryCall.with_call(
        large_request(), metadata=metadata, timeout=ctx.timeout()
    )
    expect_payload(response.payload, 314159, "UnaryCall response")
    _expect_echoed_metadata(call, "UnaryCall")

    request = StreamingOutputCallRequest(
        response_parameters=[ResponseParameters(size=314159)],
        payload=Payload(body=bytes(271828)),
    )
    responses = ctx.stub.FullDuplexCall(iter((request,)), metadata=metadata, timeout=ctx.timeout())
    received = list(responses)
    expect(len(received) == 1, f"FullDuplexCall: got {len(received)} responses, expected 1")
    expect_payload(received[0].payload, 314159, "FullDuplexCall response")
    _expect_echoed_metadata(responses, "FullDuplexCall")


@case
def status_code_and_message(ctx: CaseContext) -> None:
    status = EchoStatus(code=2, message="test status message")
    expect_rpc_error(
        grpc.StatusCode.UNKNOWN,
        status.message,
        lambda: ctx.stub.UnaryCall(SimpleRequest(response_status=status), timeout=ctx.timeout()),
    )
    request = StreamingOutputCallRequest(response_status=status)
    expect_rpc_error(
        grpc.StatusCode.UNKNOWN,
        status.message,
        lambda: list(ctx.stub.FullDuplexCall(iter((request,)), timeout=ctx.timeout())),
    )


@case
def special_status_message(ctx: CaseContext) -> None:
    status = EchoStatus(code=2, message=SPECIAL_STATUS_MESSAGE)
    expect_rpc_error(
        grpc.StatusCode.UNKNOWN,
        SPECIAL_STATUS_MESSAGE,
        lambda: ctx.stub.UnaryCall(SimpleRequest(response_status=status), timeout=ctx.timeout()),
    )


@case
def unimplemented_method(ctx: CaseContext) -> None:
    expect_rpc_error(
        grpc.StatusCode.UNIMPLEMENTED,
        None,
        lambda: ctx.stub.UnimplementedCall(empty_pb2.Empty(), timeout=ctx.timeout()),
    )


@case
def unimplemented_service(ctx: CaseContext) -> None:
    expect_rpc_error(
        grpc.StatusCode.UNIMPLEMENTED,
        None,
        lambda: ctx.unimplemented_stub.UnimplementedCall(empty_pb2.Empty(), timeout=ctx.timeout()),
    )


@case
def cancel_after_begin(ctx: CaseContext) -> None:
    with RequestPipe() as pipe:  # never fed: no payload goes out before the cancel
        future = ctx.stub.StreamingInputCall.future(pipe, timeout=ctx.timeout())
        future.cancel()
        expect(future.cancelled(), "call was not cancelled")
        expect(future.code() == grpc.StatusCode.CANCELLED, f"call ended with {future.code().name}")


@case
def cancel_after_first_response(ctx: CaseContext) -> None:
    with RequestPipe() as pipe:
        responses = ctx.stub.FullDuplexCall(pipe, timeout=ctx.timeout())
        pipe.send(
            StreamingOutputCallRequest(
                response_parameters=[ResponseParameters(size=31415)],
                payload=Payload(body=bytes(27182)),
            )
        )
        first = next(responses, None)
        expect(first is not None, "stream ended before the first response")
        expect_payload(first.payload, 31415)
        responses.cancel()
        expect_rpc_error(grpc.StatusCode.CANCELLED, None, lambda: next(responses))


@case
def timeout_on_sleeping_server(ctx: CaseContext) -> None:
    with RequestPipe() as pipe:  # stays open: the server has nothing to do but wait
        responses = ctx.stub.FullDuplexCall(pipe, timeout=0.001)
        pipe.send(StreamingOutputCallRequest(payload=Payload(body=bytes(27182))))
        expect_rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, None, lambda: next(responses))


@case
def client_compressed_unary(ctx: CaseContext) -> None:
    # 1. Feature probe: claims compression but is sent plain -> INVALID_ARGUMENT.
    expect_rpc_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        None,
        lambda: ctx.stub.UnaryCall(
            large_request(expect_compressed=BoolValue(value=True)), timeout=ctx.timeout()
        ),
    )
    # 2. Really compressed (grpcio compresses per call, which is one message here).
    response = ctx.stub.UnaryCall(
        large_request(expect_compressed=BoolValue(value=True)),
        compression=grpc.Compression.Gzip,
        timeout=ctx.timeout(),
    )
    expect_payload(response.payload, 314159, "compressed request's response")
    # 3. Plain, and says so.
    response = ctx.stub.UnaryCall(
        large_request(expect_compressed=BoolValue(value=False)), timeout=ctx.timeout()
    )
    expect_payload(response.payload, 314159, "uncompressed request's response")


@case
def server_compressed_unary(ctx: CaseContext) -> None:
    # grpcio hides the response's compressed flag, so use a channel that leaves
    # decompression to us (see interop_common) and read the flag off the bytes.
    channel = ctx.open_channel(RAW_COMPRESSION_OPTIONS)
    try:
        unary_call = channel.unary_unary(
            "/grpc.testing.TestService/UnaryCall",
            request_serializer=SimpleRequest.SerializeToString,
            response_deserializer=raw_deserializer(messages_pb2.SimpleResponse),
        )
        for compressed in (True, False):
            request = large_request(response_compressed=BoolValue(value=compressed))
            received = unary_call(request, timeout=ctx.timeout())
            expect(
                received.compressed == compressed,
                f"response_compressed={compressed} but the response "
                f"{'had' if received.compressed else 'lacked'} the compressed flag",
            )
            expect_payload(received.message.payload, 314159, f"response_compressed={compressed} response")
    finally:
        channel.close()


def wait_until_connected(channel: grpc.Channel, timeout_s: float) -> Optional[str]:
    """None once READY; a reason as soon as connecting fails or times out."""
    states: "queue.Queue[grpc.ChannelConnectivity]" = queue.Queue()
    callback = states.put
    channel.subscribe(callback, try_to_connect=True)
    try:
        end = time.monotonic() + timeout_s
        while True:
            state = states.get(timeout=max(0.0, end - time.monotonic()))
            if state == grpc.ChannelConnectivity.READY:
                return None
            if state in (grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.SHUTDOWN):
                return f"cannot connect ({state.name})"
    except queue.Empty:
        return f"not connected within {timeout_s:g} s"
    finally:
        channel.unsubscribe(callback)


def run_case(name: str, context: CaseContext, deadline_s: float) -> Optional[str]:
    """Runs one case; returns None on success or the failure reason."""
    outcome = {}

    def target():
        try:
            CASES[name](context)
            outcome["error"] = None
        except CaseFailure as failure:
            outcome["error"] = str(failure)
        except grpc.RpcError as error:
            outcome["error"] = f"unexpected status {error.code().name}: {error.details()!r}"
        except Exception as error:  # a broken case must not take the others down
            outcome["error"] = f"{type(error).__name__}: {error}"

    # Watchdog on top of the per-RPC deadlines, in case something blocks outside an RPC.
    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    worker.join(deadline_s + 2)
    if worker.is_alive():
        return f"did not finish within {deadline_s:g} s"
    return outcome["error"]


def _parse_args(argv):
    parser = argparse.ArgumentParser(description="grpcio interop client")
    parser.add_argument("--server_host", default="127.0.0.1")
    parser.add_argument("--server_port", type=int, required=True)
    parser.add_argument(
        "--server_host_override", help="TLS target name and :authority (default: --server_host)"
    )
    parser.add_argument(
        "--test_cases", "--test_case", dest="test_cases", default="all",
        help=f"comma-separated list or 'all' ({', '.join(CASES)})",
    )
    add_bool_flag(parser, "--use_tls", "connect with TLS")
    parser.add_argument("--ca_file", help="PEM root CA for TLS (default: system roots)")
    parser.add_argument("--case_timeout", type=float, default=10.0, help="deadline per case, seconds")
    parser.add_argument("--connect_timeout", type=float, default=5.0, help="seconds to wait for the server")
    args = parser.parse_args(argv)

    if args.test_cases.strip() == "all":
        args.test_cases = list(CASES)
    else:
        args.test_cases = [name.strip() for name in args.test_cases.split(",") if name.strip()]
        unknown = [name for name in args.test_cases if name not in CASES]
        if unknown:
            parser.error(f"unknown test case(s): {', '.join(unknown)}; known: {', '.join(CASES)}")
    return args


def _channel_factory(args):
    target = f"{args.server_host}:{args.server_port}"
    base_options = []
    if args.server_host_override:
        base_options += [
            ("grpc.ssl_target_name_override", args.server_host_override),
            ("grpc.default_authority", args.server_host_override),
        ]
    credentials = None
    if args.use_tls:
        root = None
        if args.ca_file:
            with open(args.ca_file, "rb") as ca:
                root = ca.read()
        credentials = grpc.ssl_channel_credentials(root_certificates=root)

    def open_channel(extra_options=()):
        options = base_options + list(extra_options)
        if credentials is not None:
            return grpc.secure_channel(target, credentials, options=options)
        return grpc.insecure_channel(target, options=options)

    return open_channel


def main(argv=None) -> int:
    args = _parse_args(argv)
    open_channel = _channel_factory(args)
    channel = open_channel()

    unreachable = wait_until_connected(channel, args.connect_timeout)
    failures = 0
    for name in args.test_cases:
        if unreachable:
            error = f"server {args.server_host}:{args.server_port} unreachable: {unreachable}"
        else:
            error = run_case(name, CaseContext(channel, open_channel, args.case_timeout), args.case_timeout)
        if error is None:
            print(f"PASS {name}", flush=True)
        else:
            failures += 1
            print(f"FAIL {name}: {error}", flush=True)
    channel.close()

    print(f"{len(args.test_cases) - failures} passed, {failures} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
