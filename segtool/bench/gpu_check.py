"""``segtool gpu-check`` (``make gpu-check``): the node's GPU paths measured side by side, one JSON and one table.

On one 640x480 frame of a generated road scene, taken through the node's own preprocessing, for the model the
node runs by default (``config/seg_node.yaml``):

- bare model: ONNX Runtime on CPU, CUDA and TensorRT fp16 (the node's provider options), and the FP16 model
  (``segtool quantize --fp16``) on CUDA, taking turns call by call; each row's share of pixels of the same class
  as the CPU row;
- the whole frame (camera picture in, mask out) per provider: the node's pipeline on the model against the model
  fused for the frame's size (``segtool fuse``), taking turns call by call; each fused row's share of pixels equal
  to its unfused row's mask;
- TensorRT start-up: a fresh process building its engine into an empty cache, then a restart reading the cache;
- the node end to end: ``seg_node`` in its own process under a 30 Hz camera (the benchmark's probe), once per
  provider, on the engine cache the start-up rows built.

Without a usable CUDA provider nothing is measured: the reason is printed and written, and the exit code is 0.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: Provider rows: what the node is asked for (its ``providers`` parameter) and what ONNX Runtime must then run.
ROWS = {'cpu': (['cpu'], 'CPUExecutionProvider'),
        'cuda': (['cuda', 'cpu'], 'CUDAExecutionProvider'),
        'tensorrt': (['tensorrt', 'cuda', 'cpu'], 'TensorrtExecutionProvider')}
FRAME_HW = (480, 640)
CAMERA_HZ = 30.0
#: Seconds a node may take to start: a TensorRT engine built on a Jetson takes minutes.
NODE_START_S = 420.0


def machine() -> dict:
    """Describe this machine: GPU (nvidia-smi, or a Jetson's device tree), ONNX Runtime and its providers, CPUs."""
    import onnxruntime as ort

    gpu = 'unknown'
    if shutil.which('nvidia-smi'):
        query = subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
                               capture_output=True, text=True, timeout=30)
        gpu = query.stdout.strip() or query.stderr.strip() or gpu
    elif Path('/proc/device-tree/model').is_file():  # a Jetson: the module, and the L4T release of its JetPack
        gpu = Path('/proc/device-tree/model').read_text().strip('\0\n ')
        release = Path('/etc/nv_tegra_release')
        if release.is_file():
            gpu += f" ({release.read_text().splitlines()[0].strip('# ')})"
    return {'gpu': gpu, 'onnxruntime': ort.__version__, 'onnxruntime_device': ort.get_device(),
            'providers': ort.get_available_providers(), 'cpu': f'{os.cpu_count()} cores',
            'machine': platform.machine(), 'python': platform.python_version()}


def no_cuda_reason(model: str) -> str | None:
    """Say why this ONNX Runtime cannot run ``model`` on CUDA, or None when it can."""
    import onnxruntime as ort

    from seg_node.inference import InferenceEngine

    available = ort.get_available_providers()
    if ROWS['cuda'][1] not in available:
        return (f"no CUDA provider: onnxruntime {ort.__version__} ({ort.get_device()}) offers only "
                f"{', '.join(available)}. Install onnxruntime-gpu as the only ONNX Runtime of this environment "
                "(on a Jetson: JetPack's onnxruntime-gpu wheel; docs/performance.md, 'GPU check').")
    got = InferenceEngine(model, ROWS['cuda'][0]).provider
    if got != ROWS['cuda'][1]:
        return (f'no CUDA provider: onnxruntime {ort.__version__} lists CUDAExecutionProvider, but a session on it '
                f'fell back to {got} (CUDA or cuDNN libraries missing or not matching this build; '
                'its warning above says which).')
    return None


def startup(model: str, cache_dir: str) -> dict:
    """Time opening a TensorRT session on ``cache_dir`` and its first run, in this process (a fresh one)."""
    import numpy as np

    from seg_node.inference import InferenceEngine

    start = time.perf_counter()
    engine = InferenceEngine(model, ROWS['tensorrt'][0], cache_dir=cache_dir)
    opened = time.perf_counter()
    hw = engine.spec.input_hw or FRAME_HW
    shape = (1, 3, *hw) if engine.spec.input_layout == 'NCHW' else (1, *hw, 3)
    engine.run(np.zeros(shape, engine.spec.input_dtype))
    return {'provider': engine.provider, 'session_s': round(opened - start, 3),
            'first_run_s': round(time.perf_counter() - opened, 3)}


def startup_rows(model: str, cache_dir: Path) -> dict:
    """Time TensorRT start-up in a new process: cold (empty engine cache), then cached (a restart)."""
    shutil.rmtree(cache_dir, ignore_errors=True)
    rows = {}
    for name in ('cold', 'cached'):
        begun = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, '-m', 'segtool.bench.gpu_check', model, str(cache_dir)],
                                  capture_output=True, text=True, timeout=NODE_START_S)
        except subprocess.TimeoutExpired:
            rows[name] = {'error': f'no session after {NODE_START_S:.0f} s'}
            continue
        if done.returncode:
            rows[name] = {'error': done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}
            continue
        rows[name] = {**json.loads(done.stdout.strip().splitlines()[-1]),
                      'process_s': round(time.perf_counter() - begun, 3)}
    rows['cache_files'] = sorted(p.name for p in cache_dir.iterdir()) if cache_dir.is_dir() else []
    return rows


def bare_rows(models: dict[str, str], cache_dir: Path, repeats: int) -> dict:
    """Each provider row (and the FP16 model on CUDA) on one VGA road frame, taking turns call by call."""
    import numpy as np

    from seg_node.image_codec import Frame
    from seg_node.inference import InferenceEngine
    from seg_node.pipeline import build_pipeline, default_values
    from segtool.bench.timing import percentiles, seconds, take_turns
    from segtool.road_scenes import generate_scene

    engines = {name: InferenceEngine(models['fp32'], providers, cache_dir=str(cache_dir))
               for name, (providers, _) in ROWS.items()}
    engines['cuda fp16 model'] = InferenceEngine(models['fp16'], ROWS['cuda'][0])
    pipeline = build_pipeline(engines['cpu'], default_values(engines['cpu']))
    rgb = generate_scene(7, *FRAME_HW)[0]
    tensor = pipeline.preprocess(Frame(rgb, bgr=False), pipeline.geometry(rgb.shape[:2]))
    samples = take_turns({name: (lambda call, e=engine: seconds(lambda: e.run(tensor)))
                          for name, engine in engines.items()}, repeats, block=1, block_warmup=0)
    reference = np.argmax(engines['cpu'].run(tensor), axis=1)
    rows = {}
    for name, engine in engines.items():
        same = float((np.argmax(engine.run(tensor).astype(np.float32), axis=1) == reference).mean())
        rows[name] = {**percentiles(samples[name]), 'provider': engine.provider, 'same_class_as_cpu': round(same, 5)}
    return {'input_shape': list(tensor.shape), 'repeats': repeats, 'rows': rows}


def frame_rows(model: str, cache_dir: Path, repeats: int, out: Path, rows: dict = ROWS) -> dict:
    """Each provider's whole frame, unfused pipeline against the fused model, on one VGA road frame, taking turns."""
    from seg_node.image_codec import Frame
    from seg_node.inference import InferenceEngine
    from seg_node.pipeline import FrameSettings, Outputs, build_pipeline, default_values
    from segtool.bench.rows import fused_model
    from segtool.bench.timing import percentiles, seconds, take_turns
    from segtool.road_scenes import generate_scene

    frame, want, settings = Frame(generate_scene(7, *FRAME_HW)[0], False), Outputs(mask=True), FrameSettings.defaults()
    fused = fused_model(model, InferenceEngine(model, ['cpu']), FRAME_HW, out)
    pipelines = {}
    for name, (providers, _) in rows.items():
        for kind, path in (('unfused', model), ('fused', fused)):
            engine = InferenceEngine(path, providers, cache_dir=str(cache_dir))
            pipelines[name, kind] = build_pipeline(engine, default_values(engine))
    samples = take_turns({key: (lambda call, p=pipeline: seconds(lambda: p.run(frame, want, settings)))
                          for key, pipeline in pipelines.items()}, repeats, block=1, block_warmup=0)
    masks = {key: pipeline.run(frame, want, settings).labels for key, pipeline in pipelines.items()}
    return {f'{name} {kind}': {**percentiles(samples[name, kind]), 'provider': pipeline.engine.provider,
                               'same_mask_as_unfused': round(float((masks[name, kind] == masks[name, 'unfused'])
                                                                   .mean()), 5)}
            for (name, kind), pipeline in pipelines.items()}


def node_rows(model: str, home: Path, seconds: float, out: Path) -> dict:
    """``seg_node`` per provider under a 30 Hz VGA camera: latency camera -> mask, output rate, CPU%, RSS.

    The node runs with ``HOME`` at ``home``, whose ``.cache/seg_node/trt`` holds the engine the start-up rows built.
    """
    import rclpy
    from sensor_msgs.msg import Image

    from seg_node.image_codec import encode_pixels, fill_image
    from seg_node.publishing import output_topic
    from segtool.bench.probe import DdsProbe, cpu_seconds, start_process, stop_process, usage
    from segtool.bench.timing import percentiles
    from segtool.road_scenes import generate_scene

    msg = Image()
    fill_image(msg, encode_pixels(generate_scene(7, *FRAME_HW)[0], 'rgb8'), 'rgb8')
    environ = {**os.environ, 'HOME': str(home)}
    rows = {}
    rclpy.init()
    try:
        for name, (providers, _) in ROWS.items():
            log = out / f'node_{name}.log'
            node = start_process(['-m', 'seg_node.node', '--ros-args', '-p', f'model_path:={model}',
                                  '-p', f'providers:=[{",".join(providers)}]'], log, environ)
            probe = DdsProbe()
            probe.target('node', 'image', output_topic('mask'))
            try:
                started = time.perf_counter()
                probe.wait_ready([node], timeout=NODE_START_S)
                ready_s = time.perf_counter() - started
                cpu_before = cpu_seconds(node.pid)
                latencies, fps, sent = probe.open_loop(['node'], msg, CAMERA_HZ, seconds)['node']
                rows[name] = {**percentiles(latencies), 'output_fps': round(fps, 1), 'sent': sent,
                              'received': len(latencies), 'ready_s': round(ready_s, 1),
                              **usage(node, cpu_before, seconds), 'provider': _logged_provider(log)}
            except RuntimeError as err:
                rows[name] = {'error': f'{err} (log: {log})'}
            finally:
                stop_process(node)
                probe.close()
    finally:
        rclpy.try_shutdown()
    return rows


def _logged_provider(log: Path) -> str:
    """Return the execution provider the node's log names."""
    for line in log.read_text().splitlines():
        if 'execution provider ' in line:
            return line.rsplit('execution provider ', 1)[1].strip()
    return 'not logged'


def table(results: dict) -> str:
    """Format the results as Markdown: machine, bare rows, TensorRT start-up, node rows."""
    lines = [f"GPU check: {results['machine']['gpu']}; onnxruntime {results['machine']['onnxruntime']}; "
             f"model {results['model']}", '']
    if results.get('no_cuda'):
        return '\n'.join(lines + [results['no_cuda']])
    bare = results['bare']
    lines += [f"Bare model, input {bare['input_shape']}, {bare['repeats']} calls each, taking turns:", '',
              '| row | provider | p50 ms | p99 ms | fps | same class as CPU |',
              '| --- | --- | ---: | ---: | ---: | ---: |']
    lines += [f"| {name} | {row['provider']} | {row['p50_ms']} | {row['p99_ms']} | {row['fps']} | "
              f"{100 * row['same_class_as_cpu']:.2f} % |" for name, row in bare['rows'].items()]
    lines += ['', f"Whole frame in the node's pipeline, {FRAME_HW[1]}x{FRAME_HW[0]} rgb8 in, mask out, taking turns:",
              '', '| row | provider | p50 ms | p99 ms | fps | same mask as unfused |',
              '| --- | --- | ---: | ---: | ---: | ---: |']
    lines += [f"| {name} | {row['provider']} | {row['p50_ms']} | {row['p99_ms']} | {row['fps']} | "
              f"{100 * row['same_mask_as_unfused']:.2f} % |" for name, row in results['frame'].items()]
    lines += ['', 'TensorRT start-up in a new process (session open / first run / whole process, s):', '']
    for name in ('cold', 'cached'):
        row = results['tensorrt_startup'][name]
        lines.append(f'- {name}: ' + (f"error {row['error']}" if 'error' in row else
                                      f"{row['session_s']} / {row['first_run_s']} / {row['process_s']} "
                                      f"({row['provider']})"))
    if 'node' in results:
        lines += ['', f'Node end to end, {CAMERA_HZ:.0f} Hz VGA camera, camera -> mask:', '',
                  '| providers asked | provider | p50 ms | p99 ms | output fps | received/sent | CPU % | ready s |',
                  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |']
        for name, row in results['node'].items():
            lines.append(f'| {name} | error: {row["error"]} |' if 'error' in row else
                         f"| {name} | {row['provider']} | {row['p50_ms']} | {row['p99_ms']} | {row['output_fps']} | "
                         f"{row['received']}/{row['sent']} | {row['cpu_percent']} | {row['ready_s']} |")
    lines += ['', f"whole check: {results['seconds']:.0f} s"]
    return '\n'.join(lines)


def run_check(model: str, out: Path, repeats: int, node_seconds: float, with_node: bool) -> dict:
    """Measure everything (or say why not) into ``out/gpu_check.json`` and ``out/gpu_check.md``; the results."""
    from segtool.quantization import convert_fp16

    begun = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {'model': model, 'machine': machine(), 'date': time.strftime('%Y-%m-%d %H:%M %Z')}
    reason = no_cuda_reason(model)
    if reason:
        results['no_cuda'] = reason
    else:
        fp16 = out / f'{Path(model).stem}_fp16.onnx'
        convert_fp16(Path(model), fp16)
        home = out / 'home'
        cache = home / '.cache' / 'seg_node' / 'trt'  # where the node, run with HOME=home, finds the engine
        results['tensorrt_startup'] = startup_rows(model, cache)
        results['bare'] = bare_rows({'fp32': model, 'fp16': str(fp16)}, cache, repeats)
        results['frame'] = frame_rows(model, cache, repeats, out)
        if with_node:
            from segtool.dds import loopback
            loopback()
            results['node'] = node_rows(model, home, node_seconds, out)
    results['seconds'] = round(time.perf_counter() - begun, 1)
    (out / 'gpu_check.json').write_text(json.dumps(results, indent=2) + '\n')
    (out / 'gpu_check.md').write_text(table(results) + '\n')
    return results


if __name__ == '__main__':  # the start-up rows' fresh process: MODEL CACHE_DIR -> one JSON line
    print(json.dumps(startup(sys.argv[1], sys.argv[2])))
