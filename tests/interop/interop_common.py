"""Helpers shared by interop_client.py and interop_server.py.

Why this exists: grpcio hides everything about message compression from the
application (the grpc-encoding header is stripped from the visible metadata,
and the per-message "compressed" flag is never exposed).  The interop cases
client_compressed_unary / server_compressed_unary need exactly that bit, so
both peers open their channel/server with C-core's per-message decompression
turned off and decompress in Python instead.  A gzip stream always starts with
0x1f 0x8b, and 0x1f can never start a protobuf message (it would be a tag with
wire type 7, which does not exist), so "starts with the gzip magic" is an exact
test for "this message arrived with the compressed flag set".

To make that test unambiguous the peers only enable identity and gzip: a peer
sending deflate is rejected by C-core (UNIMPLEMENTED), and a compliant peer will
never pick deflate because it is not in our grpc-accept-encoding.
"""

import argparse
import zlib
from typing import Callable, NamedTuple, Type, TypeVar

from google.protobuf.message import Message

# Default receive limit of gRPC, applied to the *decompressed* size ourselves
# because C-core only sees the compressed bytes once decompression is off.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
_ENABLED_IDENTITY_AND_GZIP = (1 << 0) | (1 << 2)  # bit index = grpc_compression_algorithm

# Channel/server options that hand compressed messages to Python untouched.
RAW_COMPRESSION_OPTIONS = (
    ("grpc.per_message_decompression", 0),
    ("grpc.compression_enabled_algorithms_bitset", _ENABLED_IDENTITY_AND_GZIP),
)

M = TypeVar("M", bound=Message)


class Received(NamedTuple):
    """A deserialized message plus whether it carried the compressed flag."""

    message: Message
    compressed: bool


def gunzip(data: bytes) -> bytes:
    """Decompresses one gzip-compressed gRPC message, enforcing MAX_MESSAGE_BYTES."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: expect a gzip header
    out = inflater.decompress(data, MAX_MESSAGE_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError(f"decompressed message exceeds {MAX_MESSAGE_BYTES} bytes")
    if not inflater.eof:
        raise ValueError("truncated gzip message")
    return out


def raw_deserializer(message_type: Type[M]) -> Callable[[bytes], Received]:
    """Deserializer for RAW_COMPRESSION_OPTIONS peers: decompresses if needed."""

    def deserialize(data: bytes) -> Received:
        compressed = data.startswith(_GZIP_MAGIC)
        payload = gunzip(data) if compressed else data
        return Received(message_type.FromString(payload), compressed)

    return deserialize


def parse_bool(text: str) -> bool:
    """Accepts --flag=true/false as in grpc's interop docs (bare --flag means true)."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def add_bool_flag(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    """Adds a flag usable as `--name`, `--name=true` or `--name=false`."""
    parser.add_argument(
        name, nargs="?", const=True, default=False, type=parse_bool, help=help_text
    )
