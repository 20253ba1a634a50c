"""``segtool bench``: the node's cost beside the bare model, measured side by side in one run.

Rows, all on the same model file and frames:
  bare        onnxruntime ``run`` on a ready input tensor (the floor);
  pipeline    the node's in-process stages (decode, preprocess, inference, postprocess, message build);
  reference   a seed-style pipeline (numpy normalize, full-resolution logits, numpy argmax, palette, blend);
  relay       frames through a do-nothing node and back: the DDS floor for a Python node;
  node        ``seg_node`` in its own process: publish -> mask received (closed loop), mask only / all outputs;
  camera      a 30 Hz open-loop camera: output rate vs. the bare model rate, latency p99, drops.
Rows that are compared take turns, so drift in the machine's speed moves them alike: pipeline and reference in
blocks of 10 frames (each warm, as if it ran alone), bare, relay and node frame by frame (the node's DDS hops
always follow its own inference, so the relay's follow other work too).
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
WARMUP_CALLS = 10
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


def seconds(function) -> float:
    """Seconds one call of ``function()`` takes."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def timed(function, repeats: int, warmup: int = 5) -> list[float]:
    """Seconds per call of ``function()``."""
    for _ in range(warmup):
        function()
    return [seconds(function) for _ in range(repeats)]


def take_turns(steps: dict, repeats: int, block: int, block_warmup: int) -> dict[str, list]:
    """What ``repeats`` calls of each ``step(call_number)`` returned, the steps taking turns so that drift in the
    machine's speed during the run moves every row alike.

    After WARMUP_CALLS untimed calls each, the steps run in blocks of ``block`` calls, the order rotating from block
    to block; the first ``block_warmup`` calls of each block are left out.
    """
    names = list(steps)
    results: dict[str, list] = {name: [] for name in names}
    calls = 0
    for name in names:
        for _ in range(WARMUP_CALLS):
            calls += 1
            steps[name](calls)
    for number, start in enumerate(range(0, repeats, block)):
        turn = number % len(names)
        for name in names[turn:] + names[:turn]:
            for index in range(block_warmup + min(block, repeats - start)):
                calls += 1
                value = steps[name](calls)
                if index >= block_warmup:
                    results[name].append(value)
    return results


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
    every = Outputs(mask=True, color_mask=True, overlay=True, confidence=True)
    for size, rgb in frames.items():
        msg = Image()
        fill_image(msg, encode_pixels(rgb, 'rgb8'), 'rgb8')

        def node_frame(want: Outputs) -> dict[str, float]:
            start = time.perf_counter()
            frame = decode_image(msg)
            decoded = time.perf_counter()
            result = pipeline.run(frame, want, 0.5)
            built = time.perf_counter()
            for pixels, encoding in output_images(result, frame.bgr).values():
                image_message(pixels, encoding, msg.header)
            done = time.perf_counter()
            return {'decode': decoded - start, **result.timings, 'message': done - built, 'total': done - start}

        reference_args = (rgb, engine.session, engine.spec.input_name, input_hw, values['mean'], values['std'],
                          np.reshape(values['palette'], (-1, 3)), 0.5)
        results = take_turns({'mask': lambda call: node_frame(Outputs(mask=True)),
                              'all': lambda call: node_frame(every),
                              'reference': lambda call: seconds(lambda: reference_pipeline(*reference_args))},
                             repeats, block=10, block_warmup=2)  # each warm, as if it ran alone
        for label in ('mask', 'all'):
            frames_stages = results[label]
            rows[f'pipeline {size} {label}'] = {stage: percentiles([f[stage] for f in frames_stages])
                                                 for stage in frames_stages[0]}
        rows[f'reference {size} all'] = percentiles(results['reference'])
        node_labels = pipeline.run(Frame(rgb, bgr=False), Outputs(mask=True), 0.5).labels
        rows[f'mask agreement node vs reference {size}'] = round(
            float((node_labels == reference_pipeline(*reference_args)[0]).mean()), 5)
    return rows


def stamp_key(message) -> int:
    """A frame's identity: its header stamp in nanoseconds."""
    return message.header.stamp.sec * 10**9 + message.header.stamp.nanosec


class DdsProbe:
    """The benchmark's own node: sends frames to each process under test and times the answers."""

    def __init__(self) -> None:
        import rclpy

        self.rclpy = rclpy
        self.node = rclpy.create_node(f'seg_bench_{os.getpid()}_{time.monotonic_ns()}')
        self.publishers = {}
        self.arrivals: dict[str, dict[int, float]] = {}

    def target(self, name: str, frames_topic: str, answer_topic: str) -> None:
        """Send frames for ``name`` on ``frames_topic``; its answer for a frame comes on ``answer_topic``."""
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        self.publishers[name] = self.node.create_publisher(
            Image, frames_topic, QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        arrivals = self.arrivals[name] = {}
        self.node.create_subscription(
            Image, answer_topic, lambda m: arrivals.__setitem__(stamp_key(m), time.perf_counter()), 10)

    def listen(self, topics: tuple[str, ...]) -> dict[str, list]:
        """Subscribe to ``topics`` as a user would (the node computes only what is subscribed); their stamps."""
        from sensor_msgs.msg import Image

        seen: dict[str, list] = {}
        for topic in topics:
            stamps = seen[topic] = []
            self.node.create_subscription(Image, topic, lambda m, s=stamps: s.append(stamp_key(m)), 10)
        return seen

    def wait_ready(self, processes: list[subprocess.Popen], timeout: float = 60.0) -> None:
        """Until every process under test subscribes to its frames and publishes its answers."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f'process under test exited with {process.returncode}')
            if all(p.get_subscription_count() for p in self.publishers.values()) and all(
                    self.node.count_publishers(s.topic_name) for s in self.node.subscriptions):
                self.spin(1.0)
                return
            self.spin(0.1)
        raise RuntimeError('process under test never connected')

    def spin(self, seconds: float) -> None:
        """Handle arrivals for ``seconds``, blocking between them: polling would take CPU from the node under test."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            self.rclpy.spin_once(self.node, timeout_sec=left)

    def send(self, name: str, message, key: int) -> float:
        """Publish ``message`` to ``name`` stamped ``key`` (ns); when it was sent."""
        message.header.stamp.sec, message.header.stamp.nanosec = divmod(key, 10**9)
        sent = time.perf_counter()
        self.publishers[name].publish(message)
        return sent

    def round_trip(self, name: str, message, key: int, timeout: float = 2.0) -> float | None:
        """Send one frame stamped ``key`` to ``name`` and wait for its answer: seconds, or None if none came."""
        arrivals = self.arrivals[name]
        sent = self.send(name, message, key)
        end = sent + timeout
        while key not in arrivals and (left := end - time.perf_counter()) > 0:
            self.rclpy.spin_once(self.node, timeout_sec=left)
        return arrivals[key] - sent if key in arrivals else None

    def open_loop(self, name: str, message, rate: float, seconds: float) -> tuple[list[float], float, int]:
        """A camera at ``rate`` Hz into ``name``: (latencies, output fps, frames sent)."""
        arrivals = self.arrivals[name]
        arrivals.clear()
        sent_at = {}
        period, start = 1.0 / rate, time.perf_counter()
        index = 0
        while time.perf_counter() - start < seconds:
            index += 1
            key = (200000 + index) * 10**9
            sent_at[key] = self.send(name, message, key)
            self.spin(start + index * period - time.perf_counter())
        self.spin(1.0)
        latencies = [arrivals[k] - sent_at[k] for k in arrivals if k in sent_at]
        times = sorted(arrivals.values())
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
    """bare, relay and node taking turns per camera size (mask only, then every output), and the 30 Hz camera."""
    import rclpy
    from sensor_msgs.msg import Image

    from seg_node.image_codec import Frame, encode_pixels, fill_image
    from seg_node.inference import InferenceEngine
    from seg_node.pipeline import SegmentationPipeline, model_defaults

    engine = InferenceEngine(model, ['cpu'])
    pipeline = SegmentationPipeline(engine, model_defaults(engine.spec, engine.metadata), 'stretch')
    node_args = ['-m', 'seg_node.node', '--ros-args', '-p', f'model_path:={model}', '-p', 'providers:=[cpu]',
                 '-p', 'publish_confidence:=true']
    extra_outputs = tuple(f'segmentation/{t}' for t in ('color_mask', 'overlay', 'confidence'))
    rclpy.init()
    rows = {}
    try:
        for size, rgb in frames.items():
            msg = Image()
            fill_image(msg, encode_pixels(rgb, 'rgb8'), 'rgb8')
            tensor = pipeline.preprocess(Frame(rgb, bgr=False), pipeline.geometry(rgb.shape[:2]))
            probe = DdsProbe()
            probe.target('relay', 'relay/image', 'relay/mask')
            probe.target('node', 'image', 'segmentation/mask')
            processes = {'relay': start_process(['-m', 'seg_node.benchmark', 'relay'], out / f'relay_{size}.log'),
                         'node': start_process(node_args, out / f'node_{size}.log')}
            try:
                probe.wait_ready(list(processes.values()))
                pooled: dict[str, list[float]] = {'bare': [], 'relay': []}
                for case, first_key in (('mask', 10**9), ('all', 10**14)):
                    seen = probe.listen(extra_outputs) if case == 'all' else {}
                    probe.wait_ready(list(processes.values()))
                    cpu_before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
                    node_keys: list[int] = []

                    def node_step(call: int) -> float | None:
                        node_keys.append(first_key + call * 10**9)  # to check the extra outputs came for each
                        return probe.round_trip('node', msg, node_keys[-1])

                    # Frame by frame: the node's DDS hops always follow other work (its own inference), so the
                    # relay's must too; a relay timed back to back, its process never idle, is a floor no node has.
                    samples = take_turns({
                        'bare': lambda call: seconds(lambda: engine.run(tensor)),
                        'relay': lambda call: probe.round_trip('relay', msg, first_key + call * 10**9),
                        'node': node_step}, repeats, block=1, block_warmup=0)
                    probe.spin(0.5)
                    missing = [topic for topic, stamps in seen.items() if set(node_keys[WARMUP_CALLS:]) - set(stamps)]
                    if missing:
                        raise RuntimeError(f'the node did not publish {missing} for every timed frame')
                    paired = [n - b - r for n, b, r in zip(samples['node'], samples['bare'], samples['relay'])
                              if None not in (n, b, r)]
                    samples = {name: [v for v in values if v is not None] for name, values in samples.items()}
                    for name in pooled:
                        pooled[name] += samples[name]
                    rows[f'node {case} {size}'] = {
                        **percentiles(samples['node']), 'received': len(samples['node']), 'sent': repeats,
                        **usage(processes['node'], cpu_before['node'], sum(samples['node'])),
                        'paired_overhead_ms': round(1000 * float(np.median(paired)), 2)}
                    if case == 'mask':
                        relay_usage = usage(processes['relay'], cpu_before['relay'], sum(samples['relay']))
                rows[f'bare {size}'] = percentiles(pooled['bare'])
                rows[f'relay {size}'] = {**percentiles(pooled['relay']), 'received': len(pooled['relay']),
                                         'sent': 2 * repeats, **relay_usage}
                if size == next(iter(frames)):
                    latencies, fps, sent = probe.open_loop('node', msg, 30.0, 10.0)
                    rows[f'camera30 {size}'] = {**percentiles(latencies), 'output_fps': round(fps, 1),
                                                'sent': sent, 'received': len(latencies)}
            finally:
                for process in processes.values():
                    stop_process(process)
                probe.close()
    finally:
        rclpy.try_shutdown()
    return rows


def usage(process: subprocess.Popen, cpu_before: float, busy_seconds: float) -> dict:
    """CPU% of ``process`` over the time its own frames were in flight, and its RSS."""
    cpu = cpu_seconds(process.pid) - cpu_before
    return {'cpu_percent': round(100 * cpu / max(busy_seconds, 1e-9)), 'rss_mb': rss_mb(process.pid)}


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
    labels = {'bare': 'beside the DDS rows', 'relay': 'DDS', 'node': 'DDS'}
    rows.update({f'{k} ({labels[k.split()[0]]})': v['p50_ms'] for k, v in results.get('dds', {}).items()
                 if k.split()[0] in labels})
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
    """The ratios the quality bar is stated in; the cross-process ones use the bare runs that took turns with them."""
    inproc, dds = results['in_process'], results.get('dds', {})
    summary = {}
    for key in inproc:
        if key.startswith('reference '):
            size = key.split()[1]
            node = inproc[f'pipeline {size} all']['total']['p50_ms']
            summary[f'reference / node pipeline {size} (all outputs)'] = round(inproc[key]['p50_ms'] / node, 2)
    for key, row in dds.items():
        size = key.split()[-1]
        if key.startswith('node '):
            bare, relay = dds[f'bare {size}']['p50_ms'], dds[f'relay {size}']['p50_ms']
            summary[f'{key}: e2e / bare'] = round(row['p50_ms'] / bare, 2)
            summary[f'{key}: e2e - (bare + relay) ms'] = round(row['p50_ms'] - bare - relay, 2)
            summary[f'{key}: median of per-round (node - bare - relay) ms'] = row['paired_overhead_ms']
        if key.startswith('camera30 '):
            bare = dds[f'bare {size}']['p50_ms']
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
    """A do-nothing node: every ``relay/image`` goes straight back out on ``relay/mask``."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node('seg_relay')
    publisher = node.create_publisher(Image, 'relay/mask', QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(Image, 'relay/image', publisher.publish,
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
