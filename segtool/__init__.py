"""The workbench behind seg_node: the ``segtool`` CLI, training, datasets, scene generator, demo camera,
importers and benchmark. It may import ``seg_node``; ``seg_node`` never imports it."""
