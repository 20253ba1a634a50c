"""``segtool`` subcommands: each module's ``add_parser(subparsers)`` registers one (no torch at import)."""
