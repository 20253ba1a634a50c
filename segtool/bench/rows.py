"""The rows of ``segtool bench``, taking turns so that drift in the machine's speed moves them alike.

What each row measures: ``segtool bench --help``.
"""
from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import onnx
import rclpy
from onnx import helper, numpy_helper
from sensor_msgs.msg import Image

from seg_node.frame_path import process_frame
from seg_node.image_codec import Frame, decode_image, encode_pixels, fill_image
from seg_node.inference import InferenceEngine
from seg_node.pipeline import OUTPUT_NAMES, FrameSettings, Outputs, build_pipeline, default_values
from seg_node.compression import CODECS, compressed_message
from seg_node.publishing import is_compressed, output_images, output_name, output_topic, topic_types
from segtool.bench import SIZES
from segtool.bench.probe import DdsProbe, cpu_seconds, rss_mb, start_process, stop_process, usage
from segtool.bench.timing import WARMUP_CALLS, percentiles, seconds, take_turns, timed


def reference_pipeline(rgb: np.ndarray, session, input_name: str, input_hw, mean, std, palette, alpha: float):
    """Run what a user would otherwise write: numpy everywhere, logits upsampled to camera size, numpy argmax."""
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
    settings = FrameSettings.defaults()
    engine = InferenceEngine(model, ['cpu'])
    values = default_values(engine)
    pipeline = build_pipeline(engine, values)
    first = next(iter(frames.values()))
    input_hw = pipeline.input_hw or first.shape[:2]
    tensor = pipeline.preprocess(Frame(first, bgr=False), pipeline.geometry(first.shape[:2]))
    rows = {'bare': percentiles(timed(lambda: engine.run(tensor), repeats)), 'provider': engine.provider,
            'model_input': list(input_hw), 'model_spec': engine.spec.describe()}
    every = Outputs(mask=True, color_mask=True, overlay=True, confidence=True)
    raw = [name for name in OUTPUT_NAMES if getattr(every, name)]
    compressed = frozenset(key for key in topic_types(raw) if key.endswith('/compressed'))
    for size, rgb in frames.items():
        msg = Image()
        fill_image(msg, encode_pixels(rgb, 'rgb8'), 'rgb8')

        def node_frame(want: Outputs, topics: frozenset[str] | None = None) -> dict[str, float]:
            start = time.perf_counter()
            timings = process_frame(pipeline, msg, decode_image, want, settings, topics=topics).timings
            return {**timings, 'total': time.perf_counter() - start}

        reference_args = (rgb, engine.session, engine.spec.input_name, input_hw, values['mean'], values['std'],
                          np.reshape(values['palette'], (-1, 3)), settings.overlay_alpha)
        results = take_turns({'mask': lambda call: node_frame(Outputs(mask=True)),
                              'all': lambda call: node_frame(every),
                              'all+compressed': lambda call: node_frame(every, frozenset(raw) | compressed),
                              'compressed only': lambda call: node_frame(every, compressed),
                              'reference': lambda call: seconds(lambda: reference_pipeline(*reference_args))},
                             repeats, block=10, block_warmup=2)  # each warm, as if it ran alone
        for label in ('mask', 'all', 'all+compressed', 'compressed only'):
            frames_stages = results[label]
            rows[f'pipeline {size} {label}'] = {
                stage: percentiles([f[stage] for f in frames_stages]) for stage in frames_stages[0]}
        rows.update(compression_rows(pipeline, msg, size, settings, frozenset(raw) | compressed, repeats))
        rows[f'reference {size} all'] = percentiles(results['reference'])
        node_labels = pipeline.run(Frame(rgb, bgr=False), Outputs(mask=True), settings).labels
        rows[f'mask agreement node vs reference {size}'] = round(
            float((node_labels == reference_pipeline(*reference_args)[0]).mean()), 5)
    return rows


def compression_rows(pipeline, msg: Image, size: str, settings: FrameSettings, topics: frozenset[str],
                     repeats: int) -> dict:
    """Bytes per frame of each output message, the JPEG ones at other qualities too, and each encoder's time."""
    every = Outputs(mask=True, color_mask=True, overlay=True, confidence=True)
    processed = process_frame(pipeline, msg, decode_image, every, settings, topics=topics)
    rows = {f'bytes per frame {size}': {key: len(m.data) for key, m in sorted(processed.messages.items())}}
    for quality in (50, 95):
        messages = process_frame(pipeline, msg, decode_image, every, replace(settings, jpeg_quality=quality),
                                 topics=topics).messages
        rows[f'bytes per frame {size} jpeg_quality {quality}'] = {
            key: len(m.data) for key, m in sorted(messages.items())
            if is_compressed(key) and CODECS[output_name(key)] == 'jpeg'}
    images = output_images(processed.result, bgr=False)
    encoders = {key: lambda name=output_name(key): compressed_message(
        *images[name], CODECS[name], msg.header, settings.jpeg_quality) for key in topics if is_compressed(key)}
    # the mask's PNG as OpenCV writes it by default (every row filter tried), for comparison
    encoders['mask/compressed with OpenCV default PNG'] = lambda: cv2.imencode(
        '.png', processed.result.labels, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    samples = take_turns({key: lambda call, encode=encode: seconds(encode) for key, encode in encoders.items()},
                         repeats, block=10, block_warmup=2)
    rows.update({f'encode {size} {key}': percentiles(samples[key]) for key in sorted(encoders)})
    return rows


def versus_rows(models: list[str], repeats: int) -> dict:
    """Bare inference of each model at its own default input size, taking turns; each one's ratio to the first.

    A dynamic-size model without an input size in its metadata runs at VGA.
    """
    steps, sizes = {}, {}
    for model in models:
        engine = InferenceEngine(model, ['cpu'])
        pipeline = build_pipeline(engine, default_values(engine))
        hw = tuple(pipeline.input_hw or SIZES['VGA'])
        picture = np.zeros((*hw, 3), np.uint8)
        tensor = pipeline.preprocess(Frame(picture, bgr=False), pipeline.geometry(hw))
        steps[model] = lambda call, engine=engine, tensor=tensor: seconds(lambda: engine.run(tensor))
        sizes[model] = list(hw)
    results = take_turns(steps, repeats, block=10, block_warmup=2)
    first = float(np.median(results[models[0]]))
    return {model: {**percentiles(results[model]), 'input_hw': sizes[model],
                    'ratio_to_first': round(float(np.median(results[model])) / first, 2)} for model in models}


def fused_model(model: str, engine: InferenceEngine, camera_hw: tuple[int, int], out: Path) -> str:
    """Write ``model`` fused for rgb8 pictures of ``camera_hw`` (``segtool fuse``) into ``out``; its path."""
    from segtool.fusion import fuse

    path = out / f'fused_{camera_hw[0]}x{camera_hw[1]}.onnx'
    onnx.save(fuse(onnx.load(model), engine.spec, default_values(engine), camera_hw, False, 'stretch', False), path)
    return str(path)


def dds_rows(model: str, frames: dict[str, np.ndarray], repeats: int, out: Path, fused: bool = False) -> dict:
    """bare, relay and node taking turns per camera size (mask only, then every output), and the 30 Hz camera.

    With ``fused``, a second node on the model fused for the camera size (namespace ``/fused``) takes its turn in
    the mask-only loop too.
    """
    engine = InferenceEngine(model, ['cpu'])
    pipeline = build_pipeline(engine, default_values(engine))
    node_args = ['-m', 'seg_node.node', '--ros-args', '-p', f'model_path:={model}', '-p', 'providers:=[cpu]',
                 '-p', 'publish_confidence:=true']
    extra_outputs = tuple(output_topic(name) for name in OUTPUT_NAMES if name not in ('mask', 'group_mask'))
    rclpy.init()
    rows = {}
    try:
        for size, rgb in frames.items():
            msg = Image()
            fill_image(msg, encode_pixels(rgb, 'rgb8'), 'rgb8')
            tensor = pipeline.preprocess(Frame(rgb, bgr=False), pipeline.geometry(rgb.shape[:2]))
            probe = DdsProbe()
            probe.target('relay', 'relay/image', 'relay/mask')
            probe.target('node', 'image', output_topic('mask'))
            processes = {'relay': start_process(['-m', 'segtool.bench.relay'], out / f'relay_{size}.log'),
                         'node': start_process(node_args, out / f'node_{size}.log')}
            if fused:
                probe.target('fused', 'fused/image', f'fused/{output_topic("mask")}')
                fused_args = [*node_args[:4], f'model_path:={fused_model(model, engine, rgb.shape[:2], out)}',
                              *node_args[5:], '-r', '__ns:=/fused']
                processes['fused'] = start_process(fused_args, out / f'fused_{size}.log')
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
                    steps = {'bare': lambda call: seconds(lambda: engine.run(tensor)),
                             'relay': lambda call: probe.round_trip('relay', msg, first_key + call * 10**9),
                             'node': node_step}
                    if fused and case == 'mask':
                        steps['fused'] = lambda call: probe.round_trip('fused', msg, first_key + call * 10**9)
                    samples = take_turns(steps, repeats, block=1, block_warmup=0)
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
                    if 'fused' in steps:
                        paired = [f - b - r for f, b, r in zip(samples['fused'], samples['bare'], samples['relay'])
                                  if None not in (f, b, r)]
                        rows[f'node fused {case} {size}'] = {
                            **percentiles(samples['fused']), 'received': len(samples['fused']), 'sent': repeats,
                            **usage(processes['fused'], cpu_before['fused'], sum(samples['fused'])),
                            'paired_overhead_ms': round(1000 * float(np.median(paired)), 2)}
                    if case == 'mask':
                        relay_usage = usage(processes['relay'], cpu_before['relay'], sum(samples['relay']))
                rows[f'bare {size}'] = percentiles(pooled['bare'])
                rows[f'relay {size}'] = {**percentiles(pooled['relay']), 'received': len(pooled['relay']),
                                         'sent': 2 * repeats, **relay_usage}
                if size == next(iter(frames)):
                    latencies, fps, sent = probe.open_loop(['node'], msg, 30.0, 10.0)['node']
                    rows[f'camera30 {size}'] = {**percentiles(latencies), 'output_fps': round(fps, 1),
                                                'sent': sent, 'received': len(latencies)}
            finally:
                for process in processes.values():
                    stop_process(process)
                probe.close()
    finally:
        rclpy.try_shutdown()
    return rows


def camera_rows(model: str, rgb: np.ndarray, counts: list[int], seconds: float, out: Path) -> dict:
    """N cameras at 30 Hz: one node serving them all (batched where the model allows) vs N nodes of one camera.

    Both setups use the same topics (``camK/image`` -> ``camK/segmentation/mask``) and the same probe; they run
    one after the other for each N. CPU% and RSS are the sums over the setup's node processes.
    """
    msg = Image()
    fill_image(msg, encode_pixels(rgb, 'rgb8'), 'rgb8')
    node_args = ['-m', 'seg_node.node', '--ros-args', '-p', f'model_path:={model}', '-p', 'providers:=[cpu]']
    rclpy.init()
    rows = {}
    try:
        for count in counts:
            names = [f'cam{index}' for index in range(count)]
            setups = {'batched': [node_args + ['-p', f'cameras:=[{",".join(names)}]']],
                      'separate': [node_args + ['-r', f'__ns:=/{name}'] for name in names]}
            for setup, commands in setups.items():
                probe = DdsProbe()
                for name in names:
                    probe.target(name, f'{name}/image', f'{name}/{output_topic("mask")}')
                processes = [start_process(command, out / f'cameras{count}_{setup}_{index}.log')
                             for index, command in enumerate(commands)]
                try:
                    probe.wait_ready(processes)
                    cpu_before, wall = sum(cpu_seconds(p.pid) for p in processes), time.perf_counter()
                    results = probe.open_loop(names, msg, 30.0, seconds)
                    cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu_before
                    latencies = [value for latency, _, _ in results.values() for value in latency]
                    rates = [fps for _, fps, _ in results.values()]
                    rows[f'{setup} {count}'] = {
                        **percentiles(latencies), 'fps_per_camera': round(float(np.mean(rates)), 1),
                        'fps_per_camera_min': round(min(rates), 1), 'sent': sum(s for _, _, s in results.values()),
                        'received': len(latencies),
                        'cpu_percent': round(100 * cpu / (time.perf_counter() - wall)),
                        'rss_mb': round(sum(rss_mb(p.pid) for p in processes), 1)}
                finally:
                    for process in processes:
                        stop_process(process)
                    probe.close()
    finally:
        rclpy.try_shutdown()
    return rows


def scaling_rows(model: str, repeats: int) -> dict:
    """Node pipeline (all outputs) per resolution, and postprocessing per class count."""
    want = Outputs(mask=True, color_mask=True, overlay=True)
    settings = FrameSettings.defaults()
    engine = InferenceEngine(model, ['cpu'])
    pipeline = build_pipeline(engine, default_values(engine))
    rows = {}
    for size, (height, width) in SIZES.items():
        frame = Frame(np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8), False)
        rows[f'resolution {size}'] = percentiles(timed(lambda: pipeline.run(frame, want, settings), repeats))
    for classes in (2, 8, 19, 64, 150):
        weights = np.random.default_rng(1).normal(size=(classes, 3, 1, 1)).astype(np.float32)
        weight = numpy_helper.from_array(weights, 'w')
        graph = helper.make_graph([helper.make_node('Conv', ['x', 'w'], ['y'])], 'c',
                                  [helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1, 3, 256, 512])],
                                  [helper.make_tensor_value_info('y', onnx.TensorProto.FLOAT, [1, classes, 256, 512])],
                                  [weight])
        path = Path(os.environ.get('TMPDIR', '/tmp')) / f'seg_bench_{classes}.onnx'
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), path)
        engine = InferenceEngine(str(path), ['cpu'])
        pipe = build_pipeline(engine, default_values(engine))
        frame = Frame(np.zeros((480, 640, 3), np.uint8), False)
        stages: dict[str, list[float]] = {}

        def once():
            for stage, spent in pipe.run(frame, want, settings).timings.items():
                stages.setdefault(stage, []).append(spent)

        timed(once, max(10, repeats // 3))
        rows[f'classes {classes}'] = {k: percentiles(v[5:]) for k, v in stages.items()}
    return rows
