"""Listen to seg_node as Nav2's semantic segmentation layer does, and check what the layer needs of it.

The layer (kiwicampus/semantic_segmentation_layer, the Nav2 tutorial "Navigating with Semantic Segmentation")
subscribes to the mask and the confidence with sensor-data QoS (best effort, depth 50), to the LabelInfo
reliable + transient local (depth 5), and pairs the mask and the confidence of a frame by their identical header
stamp (message_filters' exact-time policy). It reads both images as mono8, pixel by pixel, and maps class names
from its ``class_types`` to ids through the LabelInfo.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import rclpy
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from seg_node.publishing import LABEL_INFO_TOPIC, output_topic
from segtool.bench.probe import stamp_key

#: The layer's image subscriptions: ``SensorDataQoS`` with depth 50.
SENSOR_DATA = QoSProfile(depth=50, reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE)
#: The layer's LabelInfo subscription.
LATCHED = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
PAIRED = ('mask', 'confidence')
#: Share of frames that must arrive as a mask/confidence pair.
MIN_PAIRED = 0.95


@dataclass
class LayerReport:
    """What a layer-like subscriber received: the class table and, per output, stamp -> (encoding, width, height)."""

    classes: list[tuple[int, str]] | None = None
    images: dict[str, dict[int, tuple[str, int, int]]] = field(default_factory=lambda: {n: {} for n in PAIRED})

    @property
    def frames(self) -> set[int]:
        """Stamps seen on either topic."""
        return set(self.images['mask']) | set(self.images['confidence'])

    @property
    def pairs(self) -> set[int]:
        """Stamps that came on both topics: what an exact-time synchronizer passes on."""
        return set(self.images['mask']) & set(self.images['confidence'])

    def problems(self) -> list[str]:
        """Return what would keep the layer from using these outputs, one line each (empty: all good).

        The pair share is counted over the frames seen on either topic: a frame whose mask and confidence
        were both lost is not seen at all (compare ``pairs`` with what the node published to count it).
        """
        found = []
        if self.classes is None:
            found.append(f'no LabelInfo on {LABEL_INFO_TOPIC} (reliable, transient local)')
        elif [i for i, _ in self.classes] != list(range(len(self.classes))) or not all(n for _, n in self.classes):
            found.append(f'LabelInfo ids are not 0..{len(self.classes) - 1} with a name each: {self.classes}')
        for name, encodings in self.summary()['encodings'].items():
            if set(encodings) - {'mono8'}:
                found.append(f'{name} encodings {encodings}: the layer reads mono8')
        mismatched = [s for s in self.pairs if self.images['mask'][s][1:] != self.images['confidence'][s][1:]]
        if mismatched:
            found.append(f'{len(mismatched)} pairs whose mask and confidence sizes differ')
        if not self.frames:
            found.append('no mask or confidence came')
        elif len(self.pairs) < MIN_PAIRED * len(self.frames):
            found.append(f'only {len(self.pairs)} of {len(self.frames)} frames came as a mask/confidence pair '
                         f'(masks {len(self.images["mask"])}, confidences {len(self.images["confidence"])})')
        return found

    def summary(self) -> dict:
        """Return the counts, sizes, encodings and the class table, for printing as JSON."""
        sizes = sorted({(w, h) for seen in self.images.values() for _, w, h in seen.values()})
        encodings = {name: sorted({e for e, _, _ in seen.values()}) for name, seen in self.images.items()}
        return {'classes': self.classes, 'frames': len(self.frames), 'pairs': len(self.pairs),
                **{f'{name}s': len(seen) for name, seen in self.images.items()}, 'sizes': sizes,
                'encodings': encodings}


class LayerListener:
    """A node that subscribes to a seg_node's mask, confidence and LabelInfo exactly as the layer does."""

    def __init__(self, namespace: str = '') -> None:
        self.node = rclpy.create_node(f'seg_layer_listener_{time.monotonic_ns()}', namespace=namespace or None)
        self.report = LayerReport()
        self.topics = {name: self.node.resolve_topic_name(output_topic(name)) for name in PAIRED}
        for name in PAIRED:
            self.node.create_subscription(Image, output_topic(name), lambda m, n=name: self._on_image(n, m),
                                          SENSOR_DATA)
        try:
            from vision_msgs.msg import LabelInfo
        except ImportError:
            self.labels_readable = False
        else:
            self.labels_readable = True
            self.node.create_subscription(LabelInfo, LABEL_INFO_TOPIC, self._on_labels, LATCHED)

    def _on_image(self, name: str, message: Image) -> None:
        self.report.images[name][stamp_key(message)] = (message.encoding, message.width, message.height)

    def _on_labels(self, message) -> None:
        self.report.classes = [(c.class_id, c.class_name) for c in message.class_map]

    def connected(self) -> bool:
        """Whether a publisher of the mask and of the confidence is matched."""
        return all(self.node.count_publishers(topic) > 0 for topic in self.topics.values())

    def spin(self, seconds: float, until=lambda: False) -> bool:
        """Handle messages for up to ``seconds`` or until ``until()`` holds; whether it held."""
        end = time.monotonic() + seconds
        while not until() and (left := end - time.monotonic()) > 0:
            rclpy.spin_once(self.node, timeout_sec=min(left, 0.1))
        return until()

    def close(self) -> None:
        """Destroy the listener's node."""
        self.node.destroy_node()
