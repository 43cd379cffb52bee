"""``degeneracy info``: versions, CPU and floating-point kernels of this machine."""

from __future__ import annotations

import argparse
import json


def run(args: argparse.Namespace) -> None:
    from ..provenance import software_versions

    versions = software_versions()
    if args.format == "json":
        print(json.dumps(versions, indent=2))
        return
    width = max(map(len, versions))
    for name, value in versions.items():
        print(f"{name:<{width}}  {'unknown' if value is None else value}")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "info",
        help="versions, CPU and floating-point kernels (for bug reports and comparing machines)",
        description="What `reproduce` and `learn` record of the machine they ran on: "
        "package versions, the CPU, the BLAS library with the kernels it picked and "
        "numpy's SIMD target. Digits decided by round-off follow the last three.",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="text or json (text)"
    )
    parser.set_defaults(func=run)
