"""``segtool bench``: the node's cost beside the bare model, measured side by side in one run.

Rows, all on the same model file and frames:
  bare        onnxruntime ``run`` on a ready input tensor (the floor);
  pipeline    the node's in-process stages (decode, preprocess, inference, postprocess, message build);
  reference   a seed-style pipeline (numpy normalize, full-resolution logits, numpy argmax, palette, blend);
  relay       frames through a do-nothing node and back: the DDS floor for a Python node;
  node        ``seg_node`` in its own process: publish -> mask received (closed loop), mask only / all outputs;
  camera      a 30 Hz open-loop camera: output rate vs. the bare model rate, latency p99, drops.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = {'VGA': (480, 640), 'HD': (720, 1280), 'FHD': (1080, 1920)}

DESCRIPTION = __doc__.split('\n', 1)[1]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('bench', help='measure the node against the bare model (docs/performance.md)',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', default=None, help='ONNX model (default: config/seg_node.yaml model_path)')
    p.add_argument('--frames', type=int, default=100, help='timed frames per row (default %(default)s)')
    p.add_argument('--sizes', nargs='+', default=['VGA', 'HD'], choices=list(SIZES), help='camera resolutions')
    p.add_argument('--skip-dds', action='store_true', help='only the in-process rows')
    p.add_argument('--scaling', action='store_true', help='also the resolution and class-count curves')
    p.add_argument('--out', default='bench_out', help='folder for results.json and plots (default %(default)s)')
    p.set_defaults(func=run)


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p99 in milliseconds and the rate the p50 allows."""
    ms = np.asarray(samples_s) * 1000.0
    p50, p99 = np.percentile(ms, (50, 99))
    return {'p50_ms': round(float(p50), 2), 'p99_ms': round(float(p99), 2), 'fps': round(1000.0 / p50, 1)}


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process, from /proc."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return round(int(line.split()[1]) / 1024, 1)
    return float('nan')


def timed(function, repeats: int, warmup: int = 5) -> list[float]:
    """Seconds per call of ``function()``."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def reference_pipeline(rgb: np.ndarray, session, input_name: str, input_hw, mean, std, palette, alpha: float):
    """What a user would otherwise write: numpy everywhere, logits upsampled to camera size, numpy argmax."""
    small = cv2.resize(rgb, (input_hw[1], input_hw[0]))
    tensor = ((small / 255.0 - np.asarray(mean)) / np.asarray(std)).transpose(2, 0, 1)[None].astype(np.float32)
    logits = session.run(None, {input_name: tensor})[0][0]
    height, width = rgb.shape[:2]
    full = np.stack([cv2.resize(plane, (width, height)) for plane in logits])
    labels = np.argmax(full, axis=0)
    colours = np.asarray(palette, np.uint8)[labels]
    overlay = ((1 - alpha) * rgb + alpha * colours).astype(np.uint8)
    return labels, colours, overlay


def in_process_rows(model: str, frames: dict[str, np.ndarray], repeats: int) -> dict:
    """bare, the node's stages, and the reference pipeline, for each camera size."""
    from sensor_msgs.msg import Image

    from seg_node.image_codec import Frame, decode_image, encode_pixels, fill_image
    from seg_node.inference import InferenceEngine
    from seg_node.pipeline import Outputs, SegmentationPipeline, model_defaults
    from seg_node.publishing import image_message, output_images

    engine = InferenceEngine(model, ['cpu'])
    values = model_defaults(engine.spec, engine.metadata)
    pipeline = SegmentationPipeline(engine, values, 'stretch')
    first = next(iter(frames.values()))
    input_hw = pipeline.input_hw or first.shape[:2]
    tensor = pipeline.preprocess(Frame(first, bgr=False), pipeline.geometry(first.shape[:2]))
    rows = {'bare': percentiles(timed(lambda: engine.run(tensor), repeats)), 'provider': engine.provider,
            'model_input': list(input_hw), 'model_spec': engine.spec.describe()}
    for size, rgb in frames.items():
        msg = Image()
        fill_image(msg, encode_pixels(rgb, 'rgb8'), 'rgb8')
        for label, want in (('mask', Outputs(mask=True)),
                            ('all', Outputs(mask=True, color_mask=True, overlay=True, confidence=True))):
            stages: dict[str, list[float]] = {}

            def node_frame():
                start = time.perf_counter()
                frame = decode_image(msg)
                decoded = time.perf_counter()
                result = pipeline.run(frame, want, 0.5)
                built = time.perf_counter()
                for pixels, encoding in output_images(result, frame.bgr).values():
                    image_message(pixels, encoding, msg.header)
                done = time.perf_counter()
                for stage, seconds in {'decode': decoded - start, **result.timings,
                                       'message': done - built, 'total': done - start}.items():
                    stages.setdefault(stage, []).append(seconds)

            timed(node_frame, repeats)
            rows[f'pipeline {size} {label}'] = {k: percentiles(v[5:]) for k, v in stages.items()}
        reference_args = (rgb, engine.session, engine.spec.input_name, input_hw, values['mean'], values['std'],
                          np.reshape(values['palette'], (-1, 3)), 0.5)
        rows[f'reference {size} all'] = percentiles(timed(lambda: reference_pipeline(*reference_args), repeats))
        node_labels = pipeline.run(Frame(rgb, bgr=False), Outputs(mask=True), 0.5).labels
        rows[f'mask agreement node vs reference {size}'] = round(
            float((node_labels == reference_pipeline(*reference_args)[0]).mean()), 5)
    return rows


class DdsProbe:
    """The benchmark's own node: publishes frames on ``image`` and times the answer on ``segmentation/mask``."""

    def __init__(self, extra_outputs: bool) -> None:
        import rclpy
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        self.rclpy = rclpy
        self.node = rclpy.create_node(f'seg_bench_{os.getpid()}_{time.monotonic_ns()}')
        self.publisher = self.node.create_publisher(
            Image, 'image', QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        self.arrivals: dict[int, float] = {}
        self.node.create_subscription(Image, 'segmentation/mask', self._on_mask, 10)
        topics = ('color_mask', 'overlay', 'confidence') if extra_outputs else ()
        for topic in topics:
            self.node.create_subscription(Image, f'segmentation/{topic}', lambda m: None, 10)
        self.topics = ('mask',) + topics

    def _on_mask(self, msg) -> None:
        self.arrivals[msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec] = time.perf_counter()

    def wait_ready(self, process: subprocess.Popen, timeout: float = 60.0) -> None:
        """Until the process under test subscribes to our frames and publishes every topic we listen to."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if process.poll() is not None:
                raise RuntimeError(f'process under test exited with {process.returncode}')
            if self.publisher.get_subscription_count() and all(
                    self.node.count_publishers(f'/segmentation/{t}') for t in self.topics):
                self.spin(1.0)
                return
            self.spin(0.1)
        raise RuntimeError('process under test never connected')

    def spin(self, seconds: float) -> None:
        """Handle arrivals for ``seconds``, blocking between them: polling would take CPU from the node under test."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            self.rclpy.spin_once(self.node, timeout_sec=left)

    def closed_loop(self, message, count: int, warmup: int = 10) -> list[float]:
        """Send a frame, wait for its mask (or 2 s), repeat: latency without queueing."""
        samples = []
        for index in range(count + warmup):
            key = 10**9 * (index + 1)
            message.header.stamp.sec, message.header.stamp.nanosec = index + 1, 0
            sent = time.perf_counter()
            self.publisher.publish(message)
            end = sent + 2.0
            while key not in self.arrivals and (left := end - time.perf_counter()) > 0:
                self.rclpy.spin_once(self.node, timeout_sec=left)
            if key in self.arrivals and index >= warmup:
                samples.append(self.arrivals[key] - sent)
        return samples

    def open_loop(self, message, rate: float, seconds: float) -> tuple[list[float], float, int]:
        """A camera at ``rate`` Hz: (latencies, output fps, frames sent)."""
        self.arrivals.clear()
        sent_at = {}
        period, start = 1.0 / rate, time.perf_counter()
        index = 0
        while time.perf_counter() - start < seconds:
            index += 1
            message.header.stamp.sec, message.header.stamp.nanosec = 100000 + index, 0
            sent_at[(100000 + index) * 10**9] = time.perf_counter()
            self.publisher.publish(message)
            self.spin(start + index * period - time.perf_counter())
        self.spin(1.0)
        latencies = [self.arrivals[k] - sent_at[k] for k in self.arrivals if k in sent_at]
        times = sorted(self.arrivals.values())
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        return latencies, fps, index

    def close(self) -> None:
        self.node.destroy_node()


def start_process(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], stdout=open(log, 'w'), stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def dds_rows(model: str, frames: dict[str, np.ndarray], repeats: int, out: Path) -> dict:
    """relay and node rows across processes, and the 30 Hz camera row."""
    import rclpy
    from sensor_msgs.msg import Image

    from seg_node.image_codec import encode_pixels, fill_image

    rclpy.init()
    rows = {}
    try:
        for size, rgb in frames.items():
            msg = Image()
            fill_image(msg, encode_pixels(rgb, 'rgb8'), 'rgb8')
            cases = [('relay', ['-m', 'seg_node.benchmark', 'relay'], False)]
            node_args = ['-m', 'seg_node.node', '--ros-args', '-p', f'model_path:={model}', '-p', 'providers:=[cpu]',
                         '-p', 'publish_confidence:=true']
            cases += [('node mask', node_args, False), ('node all', node_args, True)]
            for name, args, extra in cases:
                probe = DdsProbe(extra)
                process = start_process(args, out / f'{name.replace(" ", "_")}_{size}.log')
                try:
                    probe.wait_ready(process)
                    cpu_before, wall_before = cpu_seconds(process.pid), time.perf_counter()
                    samples = probe.closed_loop(msg, repeats)
                    cpu = (cpu_seconds(process.pid) - cpu_before) / (time.perf_counter() - wall_before)
                    rows[f'{name} {size}'] = {**percentiles(samples), 'received': len(samples), 'sent': repeats,
                                              'cpu_percent': round(100 * cpu), 'rss_mb': rss_mb(process.pid)}
                    if name == 'node mask' and size == next(iter(frames)):
                        latencies, fps, sent = probe.open_loop(msg, 30.0, 10.0)
                        rows[f'camera30 {size}'] = {**percentiles(latencies), 'output_fps': round(fps, 1),
                                                    'sent': sent, 'received': len(latencies)}
                finally:
                    stop_process(process)
                    probe.close()
    finally:
        rclpy.try_shutdown()
    return rows


def scaling_rows(model: str, repeats: int) -> dict:
    """Node pipeline (all outputs) per resolution, and postprocessing per class count."""
    import onnx
    from onnx import helper, numpy_helper

    from seg_node.image_codec import Frame
    from seg_node.inference import InferenceEngine
    from seg_node.pipeline import Outputs, SegmentationPipeline, model_defaults

    want = Outputs(mask=True, color_mask=True, overlay=True)
    engine = InferenceEngine(model, ['cpu'])
    pipeline = SegmentationPipeline(engine, model_defaults(engine.spec, engine.metadata), 'stretch')
    rows = {}
    for size, (height, width) in SIZES.items():
        frame = Frame(np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8), False)
        rows[f'resolution {size}'] = percentiles(timed(lambda: pipeline.run(frame, want, 0.5), repeats))
    for classes in (2, 8, 19, 64, 150):
        weight = numpy_helper.from_array(np.random.default_rng(1).normal(size=(classes, 3, 1, 1)).astype(np.float32), 'w')
        graph = helper.make_graph([helper.make_node('Conv', ['x', 'w'], ['y'])], 'c',
                                  [helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1, 3, 256, 512])],
                                  [helper.make_tensor_value_info('y', onnx.TensorProto.FLOAT, [1, classes, 256, 512])],
                                  [weight])
        path = Path(os.environ.get('TMPDIR', '/tmp')) / f'seg_bench_{classes}.onnx'
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), path)
        engine = InferenceEngine(str(path), ['cpu'])
        pipe = SegmentationPipeline(engine, model_defaults(engine.spec, engine.metadata), 'stretch')
        frame = Frame(np.zeros((480, 640, 3), np.uint8), False)
        stages: dict[str, list[float]] = {}

        def once():
            for stage, seconds in pipe.run(frame, want, 0.5).timings.items():
                stages.setdefault(stage, []).append(seconds)

        timed(once, max(10, repeats // 3))
        rows[f'classes {classes}'] = {k: percentiles(v[5:]) for k, v in stages.items()}
    return rows


def default_model() -> str:
    """The model config/seg_node.yaml names, resolved like the node does."""
    import yaml

    from seg_node.node import resolve_model_path

    config = yaml.safe_load((ROOT / 'config' / 'seg_node.yaml').read_text())
    return resolve_model_path(config['seg_node']['ros__parameters']['model_path'])


def run(args: argparse.Namespace) -> int:
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ['ROS_LOCALHOST_ONLY'] = '1'
    os.environ.setdefault('ROS_DOMAIN_ID', str(random.randint(1, 100)))
    os.environ.setdefault('FASTDDS_DEFAULT_PROFILES_FILE', str(ROOT / 'config' / 'fastdds_localhost.xml'))
    from seg_node.road_scenes import generate_scene

    model = args.model or default_model()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames = {size: generate_scene(7, *SIZES[size])[0] for size in args.sizes}
    results = {'model': model, 'frames': args.frames, 'cpu': f'{os.cpu_count()} cores',
               'in_process': in_process_rows(model, frames, args.frames)}
    if not args.skip_dds:
        results['dds'] = dds_rows(model, frames, args.frames, out)
    if args.scaling:
        results['scaling'] = scaling_rows(model, args.frames)
    results['summary'] = summarize(results)
    (out / 'results.json').write_text(json.dumps(results, indent=2) + '\n')
    plot(results, out)
    print(report(results))
    print(f'bench: wrote {out}/results.json and {out}/*.png')
    return 0


def plot(results: dict, out: Path) -> None:
    """latency.png (p50 per row, side by side) and, with --scaling, scaling.png."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = {'bare model': results['in_process']['bare']['p50_ms']}
    for key, value in results['in_process'].items():
        if key.startswith('pipeline '):
            rows[f'node in-process {key[9:]}'] = value['total']['p50_ms']
        elif key.startswith('reference '):
            rows[f'seed-style {key[10:]}'] = value['p50_ms']
    rows.update({f'{k} (DDS)': v['p50_ms'] for k, v in results.get('dds', {}).items()
                 if not k.startswith('camera30')})
    figure, axis = plt.subplots(figsize=(8, 0.35 * len(rows) + 1))
    axis.barh(list(rows)[::-1], list(rows.values())[::-1], color='#4a7fb5')
    axis.set_xlabel('p50 latency per frame (ms)')
    axis.set_title('seg_node vs the bare model (one run, same model and frames)')
    figure.tight_layout()
    figure.savefig(out / 'latency.png', dpi=100)
    plt.close(figure)
    scaling = results.get('scaling')
    if not scaling:
        return
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    sizes = [k.split()[1] for k in scaling if k.startswith('resolution')]
    left.plot(sizes, [scaling[f'resolution {s}']['p50_ms'] for s in sizes], marker='o')
    left.set_title('node pipeline (all outputs) vs camera resolution')
    left.set_ylabel('p50 ms')
    counts = [int(k.split()[1]) for k in scaling if k.startswith('classes')]
    for stage in ('inference', 'postprocess'):
        right.plot(counts, [scaling[f'classes {c}'][stage]['p50_ms'] for c in counts], marker='o', label=stage)
    right.set_title('1x1-conv model at 256x512, VGA camera, vs classes')
    right.set_xlabel('classes')
    right.legend()
    figure.tight_layout()
    figure.savefig(out / 'scaling.png', dpi=100)
    plt.close(figure)


def summarize(results: dict) -> dict:
    """The ratios the quality bar is stated in."""
    inproc, dds = results['in_process'], results.get('dds', {})
    bare = inproc['bare']['p50_ms']
    summary = {}
    for key in inproc:
        if key.startswith('reference '):
            size = key.split()[1]
            node = inproc[f'pipeline {size} all']['total']['p50_ms']
            summary[f'reference / node pipeline {size} (all outputs)'] = round(inproc[key]['p50_ms'] / node, 2)
    for key, row in dds.items():
        if key.startswith('node '):
            size = key.split()[-1]
            relay = dds[f'relay {size}']['p50_ms']
            summary[f'{key}: e2e / bare'] = round(row['p50_ms'] / bare, 2)
            summary[f'{key}: e2e - (bare + relay) ms'] = round(row['p50_ms'] - bare - relay, 2)
        if key.startswith('camera30 '):
            summary[f'{key}: output fps / bare fps'] = round(row['output_fps'] / min(30.0, 1000.0 / bare), 3)
    return summary


def report(results: dict) -> str:
    """A plain-text table of every row."""
    lines = [f"model {results['model']}  ({results['in_process']['model_spec']}, {results['in_process']['provider']}, "
             f"{results['cpu']}, {results['frames']} frames per row)"]

    def flat(prefix, value):
        if isinstance(value, dict) and 'p50_ms' in value:
            extras = ' '.join(f'{k}={v}' for k, v in value.items() if k not in ('p50_ms', 'p99_ms', 'fps'))
            lines.append(f"  {prefix:<42} p50 {value['p50_ms']:8.2f} ms  p99 {value['p99_ms']:8.2f} ms  "
                         f"{value['fps']:7.1f} fps  {extras}")
        elif isinstance(value, dict):
            for key, inner in value.items():
                flat(f'{prefix} {key}'.strip(), inner)

    for section in ('in_process', 'dds', 'scaling'):
        if section in results:
            lines.append(f'[{section}]')
            flat('', results[section])
    lines.append('[summary]')
    lines += [f'  {k}: {v}' for k, v in results['summary'].items()]
    return '\n'.join(lines)


def relay() -> None:
    """A do-nothing node: every ``image`` goes straight back out on ``segmentation/mask``."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node('seg_relay')
    publisher = node.create_publisher(Image, 'segmentation/mask', QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(Image, 'image', publisher.publish,
                             QoSProfile(depth=2, reliability=ReliabilityPolicy.BEST_EFFORT))
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__' and sys.argv[1:] == ['relay']:
    relay()
