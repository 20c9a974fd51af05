"""Regenerate the committed gRPC code in ``signoff/v1`` (and ``signoff/oip/v2``) from ``proto/``: one command.

python tools/gen_proto.py          # rewrite signoff/v1/*_pb2*.py(i)
python tools/gen_proto.py OUT_DIR  # write elsewhere (the staleness test compares)
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
GENERATED = (Path("signoff") / "v1", Path("signoff") / "oip" / "v2")
"""Where the generated modules go: ours, and the Open Inference Protocol's (quarantined)."""


def proto_files() -> list[Path]:
    """Every ``.proto`` file of the API, sorted."""
    return sorted(PROTO_DIR.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Run protoc (from grpcio-tools) over ``proto/`` into ``out_dir``; return the files made."""
    from grpc_tools import protoc

    include = str(resources.files("grpc_tools") / "_proto")
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(p.relative_to(PROTO_DIR)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return sorted(p for d in GENERATED for p in (out_dir / d).glob("*_pb2*.py*"))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    for path in generate(target):
        print(path)
