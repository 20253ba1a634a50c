"""``segtool``: the workbench behind seg_node, one subcommand per task (``segtool --help`` lists them).

Each subcommand lives in its own module of :mod:`segtool.commands`, listed in ``COMMANDS``, which registers
itself through ``add_parser(subparsers)`` and sets ``func``; heavy imports (torch, onnxruntime, rclpy) happen
inside ``func``, so ``segtool --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib

COMMANDS = tuple(f'segtool.commands.{name}' for name in (
    'train', 'evaluate', 'adjust_logits', 'refine_eval', 'export', 'compare', 'import_model', 'annotate', 'describe',
    'fuse', 'quantize', 'bench', 'gpu_check', 'soak', 'label', 'demo', 'nav2_check', 'architecture'))


def build_parser() -> argparse.ArgumentParser:
    """Build the ``segtool`` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog='segtool',
        description='The workbench behind seg_node: make, import, measure and demonstrate its ONNX models.',
        epilog='Run "segtool COMMAND --help" for the options of each command.')
    subparsers = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for module in COMMANDS:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; its return value is the exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args) or 0
