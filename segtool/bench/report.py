"""What ``segtool bench`` prints and draws: the summary ratios, a plain-text table, latency and scaling plots."""
from __future__ import annotations

from pathlib import Path


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
    """Compute the ratios the quality bar is stated in.

    The cross-process ones use the bare runs that took turns with them.
    """
    inproc, dds = results['in_process'], results.get('dds', {})
    summary = {}
    for key in inproc:
        if key.startswith('reference '):
            size = key.split()[1]
            node = inproc[f'pipeline {size} all']['total']['p50_ms']
            summary[f'reference / node pipeline {size} (all outputs)'] = round(inproc[key]['p50_ms'] / node, 2)
        if key.startswith('pipeline ') and key.endswith(' all+compressed'):
            size = key.split()[1]
            summary[f'node pipeline {size}: all+compressed / all'] = round(
                inproc[key]['total']['p50_ms'] / inproc[f'pipeline {size} all']['total']['p50_ms'], 3)
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
    cameras = results.get('cameras', {})
    for key, batched in cameras.items():
        count = key.split()[1]
        if key.startswith('batched ') and f'separate {count}' in cameras:
            separate = cameras[f'separate {count}']
            summary[f'{count} cameras: fps per camera, one node / {count} nodes'] = round(
                batched['fps_per_camera'] / max(separate['fps_per_camera'], 1e-9), 2)
            summary[f'{count} cameras: CPU, one node / {count} nodes'] = round(
                batched['cpu_percent'] / max(separate['cpu_percent'], 1), 2)
            summary[f'{count} cameras: RSS, one node / {count} nodes'] = round(
                batched['rss_mb'] / separate['rss_mb'], 2)
    return summary


def report(results: dict) -> str:
    """Format a plain-text table of every row."""
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
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            lines.append(f'  {prefix:<42} {value}')

    for section in ('in_process', 'versus', 'dds', 'scaling', 'cameras'):
        if section in results:
            lines.append(f'[{section}]')
            flat('', results[section])
    lines.append('[summary]')
    lines += [f'  {k}: {v}' for k, v in results['summary'].items()]
    return '\n'.join(lines)
