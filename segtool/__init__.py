"""The workbench behind seg_node, which it may import (``seg_node`` never imports it).

The ``segtool`` CLI, training, datasets, scene generator, demo camera, importers and benchmark.
"""
