"""Python stubs for grpc.testing, generated at import time from /protos.

The stubs are produced with grpc_tools.protoc into a throw-away temporary
directory, imported, and the directory is deleted again, so nothing generated
ever lands in the repository.  Usage:

    from protos import empty_pb2, messages_pb2, test_pb2, test_pb2_grpc
"""

import importlib
import re
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

# tests/interop/protos.py -> <repo>/protos
PROTO_ROOT = Path(__file__).resolve().parents[2] / "protos"
PROTO_FILES = (
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
)

# The generated code says "from grpc.testing import x_pb2", which would resolve
# against the real grpc package; rewrite it to a plain top-level import.
_PACKAGE_IMPORT = re.compile(r"^from grpc\.testing import (\w+_pb2)", re.MULTILINE)


def _generate(out_dir: Path) -> Path:
    """Runs protoc into out_dir and returns the directory holding the modules."""
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(PROTO_ROOT / name) for name in PROTO_FILES),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed for {PROTO_FILES} under {PROTO_ROOT}")
    module_dir = out_dir / "grpc" / "testing"
    for module in module_dir.glob("*.py"):
        module.write_text(_PACKAGE_IMPORT.sub(r"import \1", module.read_text()))
    return module_dir


def _load():
    with tempfile.TemporaryDirectory(prefix="interop-stubs-") as tmp:
        module_dir = str(_generate(Path(tmp)))
        sys.path.insert(0, module_dir)
        try:
            # Order matters: test_pb2 imports the other two.
            return tuple(
                importlib.import_module(name)
                for name in ("empty_pb2", "messages_pb2", "test_pb2", "test_pb2_grpc")
            )
        finally:
            # Modules stay cached in sys.modules; the directory is no longer needed.
            sys.path.remove(module_dir)


empty_pb2, messages_pb2, test_pb2, test_pb2_grpc = _load()

__all__ = ["empty_pb2", "messages_pb2", "test_pb2", "test_pb2_grpc", "PROTO_ROOT"]
