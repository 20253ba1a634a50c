"""The model toolchain behind ``segtool``: networks, losses, metrics, datasets, training, evaluation, export.

Only this package imports torch (the ``train`` extra); the runtime node never imports it.
"""
