"""``segtool refine-eval``: each refinement after the network off and on, side by side (docs/postprocessing.md)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from seg_node.package_files import PERSON_MODEL, ROAD_MODEL

DESCRIPTION = """\
Measure the node's refinements (docs/postprocessing.md) side by side in one run, through the node's own pipeline
(seg_node.pipeline) at camera resolution: for the road model on held-out generated scenes (seeds from 20,000,000,
which training never draws, generated at the camera size with their exact labels), an optional weakened road
model on the same scenes, and the person model on scikit-image's photos against test/data's golden masks. For each
configuration: mIoU, boundary F-score (2-pixel tolerance), per-class IoU, and the median time of a frame through
the pipeline, all configurations taking turns frame by frame so that a busy machine slows them alike. A reference
row scores the same frames' class decisions at the model's resolution (the truth resized nearest to it): what
upsampling has to work with. Temporal
smoothing is measured on sequences: every held-out scene shown for several frames with fresh sensor noise each
frame, scored per frame, with the share of pixels whose label changes from one frame to the next (flicker).
Writes OUT.json, OUT.png (bar charts) and OUT.md (the tables)."""

#: The person model's golden masks (test/test_person_model.py), in the source tree.
GOLDEN_MASKS = Path(__file__).resolve().parents[2] / 'test' / 'data'
#: The configurations compared on single frames: name -> settings changed from the node's defaults.
CONFIGS = {
    'off': {},
    'crf': {'crf_iterations': 5},
    'crf, 2 iterations': {'crf_iterations': 2},
    'cleanup': {'min_region_px': 32},
    'bilinear': {'upsample': 'bilinear'},
    'crf + bilinear': {'crf_iterations': 5, 'upsample': 'bilinear'},
    'all': {'crf_iterations': 5, 'min_region_px': 32, 'upsample': 'bilinear'},
}
#: The reference row: the class decisions at the model's resolution, scored against the truth resized to it.
MODEL_RESOLUTION = 'decided at model resolution (reference)'
#: The configurations compared on noisy sequences.
SEQUENCE_CONFIGS = {'off': {}, 'temporal 0.5': {'temporal_smoothing': 0.5}, 'temporal 0.8': {'temporal_smoothing': 0.8}}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('refine-eval', help='refinements off and on, side by side (docs/postprocessing.md)',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--road-model', default=ROAD_MODEL,
                   help='default %(default)s (a bare name is looked up like the node\'s model_path)')
    p.add_argument('--weak-model', default=None, help='a weakened road model (ONNX), e.g. an early checkpoint')
    p.add_argument('--person-model', default=PERSON_MODEL, help='default %(default)s')
    p.add_argument('--count', type=int, default=100, help='held-out road scenes (default %(default)s)')
    p.add_argument('--camera-size', type=int, nargs=2, default=(480, 640), metavar=('H', 'W'),
                   help='road camera resolution (default %(default)s)')
    p.add_argument('--sequences', type=int, default=10, help='scenes shown as noisy sequences (default %(default)s)')
    p.add_argument('--sequence-frames', type=int, default=8, help='frames per sequence (default %(default)s)')
    p.add_argument('--sequence-noise', type=float, default=12.0,
                   help='std of the per-frame sensor noise, in 8-bit levels (default %(default)s)')
    p.add_argument('--out', default='docs/eval/postprocessing', help='path without suffix (default %(default)s)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import numpy as np

    from seg_node.package_files import resolve_model_path
    from seg_node.pipeline import FrameSettings
    from seg_node.refine.temporal import CameraStream
    from segtool.datasets import open_dataset
    from segtool.node_eval import Score, model_resolution_labels, node_pipeline, resize_nearest, segment
    from segtool.training.metrics import ConfusionMatrix

    base = FrameSettings.defaults()
    settings = {name: replace(base, **changes) for name, changes in CONFIGS.items()}
    models = {'road': args.road_model, **({'road (weakened)': args.weak_model} if args.weak_model else {})}
    results: dict[str, dict] = {}
    road = open_dataset('road', 'test', tuple(args.camera_size), args.count)

    def compare(pipeline, frames, ignore_index=255) -> dict:
        """Every configuration on every frame, taking turns frame by frame, and the model-resolution reference."""
        scores = {name: Score(ConfusionMatrix(len(pipeline.class_names), ignore_index))
                  for name in (*settings, MODEL_RESOLUTION)}
        for image, truth in frames:
            for name, setting in settings.items():
                labels, seconds = segment(pipeline, image, setting)
                scores[name].add(labels, truth, seconds, None)
            labels, seconds = model_resolution_labels(pipeline, image)
            scores[MODEL_RESOLUTION].add(labels, resize_nearest(truth, labels.shape), seconds, None)
        return {name: score.report(pipeline.class_names) for name, score in scores.items()}

    for model_name, path in models.items():
        path = resolve_model_path(path)
        pipeline = node_pipeline(path)
        print(f'{model_name}: {path}, {len(road)} scenes at {args.camera_size[0]}x{args.camera_size[1]}', flush=True)
        frames = compare(pipeline, (road[i] for i in range(len(road))))
        results[model_name] = {'model': models[model_name], 'frames': frames}
        rng = np.random.default_rng(0)
        sequence_scores = {name: Score(ConfusionMatrix(len(pipeline.class_names))) for name in SEQUENCE_CONFIGS}
        for scene in range(min(args.sequences, len(road))):
            image, truth = road[scene]
            noisy = [np.clip(image + rng.normal(0, args.sequence_noise, image.shape), 0, 255).astype(np.uint8)
                     for _ in range(args.sequence_frames)]
            for name, changes in SEQUENCE_CONFIGS.items():
                stream, previous, setting = CameraStream(), None, replace(base, **changes)
                for index, frame in enumerate(noisy):
                    stream.start(index * 33_000_000, f'scene_{scene}')
                    labels, seconds = segment(pipeline, frame, setting, stream)
                    sequence_scores[name].add(labels, truth, seconds, previous)
                    previous = labels
        results[model_name]['sequences'] = {name: s.report(pipeline.class_names) for name, s in sequence_scores.items()}
    person = person_frames()
    if person is None:
        print('scikit-image is not installed (test extra): no person rows')
    else:
        path = resolve_model_path(args.person_model)
        pipeline = node_pipeline(path)
        print(f'person: {path}, {len(person)} photos', flush=True)
        results['person'] = {'model': args.person_model, 'frames': compare(pipeline, person)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results['settings'] = {'configs': CONFIGS, 'sequence_configs': SEQUENCE_CONFIGS, 'count': args.count,
                           'camera_size': list(args.camera_size), 'sequences': args.sequences,
                           'sequence_frames': args.sequence_frames, 'sequence_noise': args.sequence_noise}
    out.with_suffix('.json').write_text(json.dumps(results, indent=1) + '\n')
    tables = markdown_tables(results)
    out.with_suffix('.md').write_text(tables)
    chart(results, out.with_suffix('.png'))
    print(tables)
    print(f'wrote {out.with_suffix(".json")}, {out.with_suffix(".md")}, {out.with_suffix(".png")}')
    return 0


def person_frames() -> list | None:
    """(photo, golden mask at the photo's size) for the person model's two photos; None without scikit-image."""
    try:
        from skimage import data
    except ImportError:
        return None
    import cv2
    import numpy as np
    frames = []
    for photo in ('astronaut', 'camera'):
        image = getattr(data, photo)()
        rgb = np.dstack([image] * 3) if image.ndim == 2 else image
        golden = cv2.imread(str(GOLDEN_MASKS / f'person_{photo}_mask.png'), cv2.IMREAD_GRAYSCALE) > 0
        frames.append((rgb, cv2.resize(golden.astype(np.uint8), rgb.shape[1::-1], interpolation=cv2.INTER_NEAREST)))
    return frames


def markdown_tables(results: dict) -> str:
    """One table per model: a row per configuration with mIoU, boundary F, per-class IoU and ms."""
    lines = []
    for model_name, result in results.items():
        if model_name == 'settings':
            continue
        for kind in ('frames', 'sequences'):
            if kind not in result:
                continue
            rows = result[kind]
            names = next(iter(rows.values()))['class_names']
            base_ms = rows['off']['ms_median']
            flicker = kind == 'sequences'
            lines += [f'**{model_name}** ({"noisy sequences" if flicker else "single frames"}; `{result["model"]}`)',
                      '', '| configuration | mIoU | boundary F | ' + ' | '.join(names)
                      + (' | label changes per frame' if flicker else '') + ' | ms a frame (added) |',
                      '|---|' + '---:|' * (len(names) + 3 + flicker)]
            for config, report in rows.items():
                ious = ' | '.join(_number(report['iou'][n]) for n in names)
                extra = f' | {100 * report["changed_per_frame"]:.2f} %' if flicker else ''
                added = report['ms_median'] - base_ms
                ms = '' if config == MODEL_RESOLUTION else f'{report["ms_median"]:.1f} ({added:+.1f})'
                lines.append(f'| {config} | {report["mean_iou"]:.4f} | {report["boundary_f"]:.4f} | {ious}{extra} | '
                             f'{ms} |')
            lines.append('')
    return '\n'.join(lines)


def _number(value: float | None) -> str:
    return 'n/a' if value is None else f'{value:.4f}'


def chart(results: dict, path: Path) -> None:
    """Bar charts: mIoU, boundary F-score and added milliseconds per configuration, one group per model."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    models = [m for m in results if m != 'settings']
    configs = list(CONFIGS)
    metrics = (('mean_iou', 'mIoU'), ('boundary_f', 'boundary F-score (2 px)'), ('ms', 'ms added per frame'))
    fig, axes = plt.subplots(1, len(metrics), figsize=(14, 3.8))
    width = 0.8 / len(configs)
    for ax, (key, title) in zip(axes, metrics):
        for c, config in enumerate(configs):
            values = []
            for model in models:
                rows = results[model]['frames']
                values.append(rows[config]['ms_median'] - rows['off']['ms_median'] if key == 'ms'
                              else rows[config][key])
            bars = ax.bar(np.arange(len(models)) + (c - (len(configs) - 1) / 2) * width, values, width, label=config)
            ax.bar_label(bars, fmt='%.3f' if key != 'ms' else '%.0f', fontsize=6, rotation=90, padding=2)
        ax.set_xticks(np.arange(len(models)), models, fontsize=8)
        ax.set_title(title, fontsize=10)
        if key != 'ms':
            low = min(results[m]['frames'][c][key] for m in models for c in configs)
            ax.set_ylim(max(0.0, low - 0.05), 1.02)
    axes[0].legend(fontsize=7, loc='lower left')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
