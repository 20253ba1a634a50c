"""``python -m segtool`` (e.g. under ``torchrun -m segtool``) is the ``segtool`` command."""
import sys

from segtool.cli import main

sys.exit(main())
