"""``segtool``: train, evaluate, export and benchmark segmentation models for seg_node.

Each subcommand lives in its own module, listed in ``COMMANDS``, which registers itself through
``add_parser(subparsers)`` and sets ``func``; heavy imports (torch, onnxruntime) happen inside ``func``, so
``segtool --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = (
    'seg_node.training.commands.train',
    'seg_node.training.commands.evaluate',
    'seg_node.training.commands.export',
    'seg_node.benchmark',
)


def build_parser() -> argparse.ArgumentParser:
    """The ``segtool`` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog='segtool', description='Train, evaluate, export and benchmark segmentation models for seg_node (ONNX).',
        epilog='Run "segtool COMMAND --help" for the options of each command.')
    subparsers = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for module in COMMANDS:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; its return value is the exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == '__main__':
    sys.exit(main())
