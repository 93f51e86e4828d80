"""``dw``: the command line entry point. One sub-module per noun as the CLI grows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import lite, server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dw", description="Durable Workflow for Python")
    nouns = parser.add_subparsers(dest="noun", required=True)
    server.register(nouns)
    lite.register(nouns)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
