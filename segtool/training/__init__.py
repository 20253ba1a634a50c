"""Training for ``segtool``: networks, losses, metrics, transforms, the training loop, evaluation and export.

Only the workbench imports this package (extra ``train``: torch); the runtime package ``seg_node`` never does.
"""
