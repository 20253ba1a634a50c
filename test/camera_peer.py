"""A camera in a process of its own: streams frames to seg_node at a fixed rate and counts the outputs that return.

    python camera_peer.py RELIABILITY HEIGHT WIDTH FRAMES RATE [OUTPUTS [DEPTH]]

RELIABILITY is reliable or best_effort; OUTPUTS a comma-separated list of outputs to subscribe RELIABLE with
history DEPTH (default: mask, 10). It waits until seg_node's /diagnostics reports the input QoS it chose for
this publisher, streams FRAMES generated road scenes, waits for stragglers and prints one JSON line (see
``segtool.bench.output_qos.play``). Run it with the DDS environment under test (e.g. Fast DDS's defaults: no
FASTDDS_DEFAULT_PROFILES_FILE).
"""
import json
import sys

import rclpy

from segtool.bench.output_qos import play

if __name__ == '__main__':
    rclpy.init()
    outputs = tuple(sys.argv[6].split(',')) if len(sys.argv) > 6 else ('mask',)
    depth = int(sys.argv[7]) if len(sys.argv) > 7 else 10
    node = rclpy.create_node('camera_peer')
    result = play(node, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
                  outputs, depth)
    node.destroy_node()
    rclpy.try_shutdown()
    print(json.dumps(result))
