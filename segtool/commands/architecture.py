"""``segtool architecture``: the picture of the rooms and of a frame's way through them (docs/architecture.md)."""
from __future__ import annotations

import argparse
import ast
import pkgutil
import shutil
import subprocess
import textwrap
from pathlib import Path

import seg_node
import segtool

DESCRIPTION = """\
Write docs/architecture.dot (Graphviz) and, where the dot program is installed, render docs/architecture.png.
Every module of seg_node (those of its subpackages included) and every module or subpackage of segtool is a box
labelled with the first line of its docstring, so a new module shows up by itself; the arrows are the data flow
listed in FLOW."""

ROOMS = {
    'seg_node': ('seg_node/: runs on the robot (numpy, OpenCV, ONNX Runtime, ROS 2)', '#dbe9f6'),
    'segtool': ('segtool/: the workbench (torch, onnx, matplotlib, ...); imports seg_node, never the reverse',
                '#f6ecd9'),
}
OUTSIDE = {
    'camera': ('camera driver\nsensor_msgs/Image', 'ellipse'),
    'outputs': ('segmentation/mask, color_mask,\noverlay, confidence, label_info,\ngroup_mask, group_label_info',
                'ellipse'),
    'compressed_outputs': ('segmentation/mask/compressed,\ncolor_mask/compressed,\noverlay/compressed', 'ellipse'),
    'diagnostic_topic': ('/diagnostics', 'ellipse'),
    'model_file': ('model.onnx\n(ONNX + seg_node metadata)', 'note'),
}
#: (from, to, what travels[, style]): the way of a frame through the node, and how models and figures are made.
FLOW = (
    ('camera', 'seg_node.camera', 'image'),
    ('seg_node.input_qos', 'seg_node.camera', 'reliability'),
    ('seg_node.camera', 'seg_node.mailbox', 'newest frame'),
    ('seg_node.mailbox', 'seg_node.segmenter', 'worker takes'),
    ('seg_node.node', 'seg_node.segmenter', 'configure, activate', 'dashed'),
    ('seg_node.lifecycle_node', 'seg_node.segmenter', 'transitions', 'dashed'),
    ('seg_node.segmenter', 'seg_node.frame_path', 'parameter snapshot'),
    ('seg_node.frame_path', 'seg_node.image_codec', 'message'),
    ('seg_node.image_codec', 'seg_node.preprocessing', 'Frame'),
    ('seg_node.preprocessing', 'seg_node.inference', 'input tensor'),
    ('seg_node.inference', 'seg_node.postprocessing', 'scores'),
    ('seg_node.postprocessing', 'seg_node.publishing', 'labels, colours'),
    ('seg_node.postprocessing', 'seg_node.refine.temporal', 'class scores\n(refinements on)', 'dashed'),
    ('seg_node.refine.temporal', 'seg_node.refine.crf', 'averaged\nprobabilities', 'dashed'),
    ('seg_node.refine.crf', 'seg_node.refine.upsample', 'refined\nprobabilities', 'dashed'),
    ('seg_node.refine.upsample', 'seg_node.refine.regions', 'camera-size\nlabels', 'dashed'),
    ('seg_node.refine.regions', 'seg_node.refine.groups', 'labels', 'dashed'),
    ('seg_node.refine.groups', 'seg_node.publishing', 'group ids', 'dashed'),
    ('seg_node.publishing', 'outputs', 'camera header'),
    ('seg_node.publishing', 'seg_node.compression', 'while subscribed', 'dashed'),
    ('seg_node.compression', 'compressed_outputs', 'PNG, JPEG'),
    ('seg_node.frame_path', 'seg_node.pipeline', 'runs', 'dashed'),
    ('seg_node.segmenter', 'seg_node.diagnostics', 'timings, drops'),
    ('seg_node.diagnostics', 'diagnostic_topic', '1 Hz'),
    ('seg_node.params', 'seg_node.segmenter', 'declared once'),
    ('model_file', 'seg_node.inference', 'ONNX Runtime session'),
    ('model_file', 'seg_node.model_metadata', 'classes, palette,\nnormalisation'),
    ('seg_node.label_sets', 'segtool.datasets', 'names, colours'),
    ('segtool.datasets', 'segtool.training', 'images, masks'),
    ('segtool.road_scenes', 'segtool.datasets', 'generated scenes'),
    ('segtool.training', 'model_file', 'segtool export'),
    ('segtool.importers', 'model_file', 'segtool import'),
    ('segtool.importers', 'segtool.annotation', 'names, colours,\nnormalisation'),
    ('segtool.annotation', 'model_file', 'segtool annotate'),
    ('segtool.quantization', 'model_file', 'segtool quantize'),
    ('segtool.model_trial', 'seg_node.pipeline', "the node's own\ndetection, one frame", 'dashed'),
    ('seg_node.label_sets', 'segtool.annotation', 'label sets'),
    ('segtool.tflite_onnx', 'segtool.importers', 'TFLite -> ONNX'),
    ('segtool.bench', 'seg_node.frame_path', 'times the code\nthat ships', 'dashed'),
    ('segtool.bench', 'camera', 'frames over DDS', 'dashed'),
    ('segtool.node_eval', 'seg_node.pipeline', 'scores the code\nthat ships', 'dashed'),
    ('segtool.demo_camera', 'camera', 'seg_camera'),
    ('segtool.bags', 'segtool.labelling', 'bag messages'),
    ('segtool.frame_sources', 'segtool.labelling', 'videos, folders'),
    ('segtool.node_params', 'segtool.labelling', "the node's pipeline\nfrom its params file"),
    ('segtool.labelling', 'seg_node.frame_path', 'labels with the\ncode that ships', 'dashed'),
    ('segtool.depth_images', 'segtool.labelling', 'depth topics\nto skip'),
    ('segtool.fleet_labelling', 'segtool.labelling', 'each input, in a\nRay task or here'),
    ('segtool.cli', 'segtool.commands', 'one module\nper subcommand'),
    ('outputs', 'segtool.nav2_layer', 'as Nav2 subscribes', 'dashed'),
)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('architecture', help='draw the module map and data flow (docs/architecture.md)',
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default='docs/architecture', help='path without suffix (default %(default)s)')
    p.set_defaults(func=run)


def boxes() -> dict[str, str]:
    """Map each box of the picture to its docstring summary.

    The boxes are seg_node's modules, those of its subpackages included, and segtool's modules and subpackages.
    """
    found = {}
    packages = [(seg_node.__path__[0], 'seg_node', True), (segtool.__path__[0], 'segtool', False)]
    while packages:
        folder, prefix, descend = packages.pop(0)
        for info in pkgutil.iter_modules([folder], f'{prefix}.'):
            if info.name.endswith('__main__'):
                continue
            path = Path(folder, info.name.rsplit('.', 1)[1])
            if info.ispkg and descend:  # a seg_node subpackage: its modules are the boxes
                packages.append((str(path), info.name, True))
                continue
            source = path / '__init__.py' if info.ispkg else path.with_suffix('.py')
            found[info.name] = (ast.get_docstring(ast.parse(source.read_text())) or '').split('\n')[0]
    return found


def dot_source() -> str:
    """Return the Graphviz source of the picture."""
    found = boxes()
    unknown = {end for edge in FLOW for end in edge[:2]} - set(found) - set(OUTSIDE)
    if unknown:
        raise ValueError(f'FLOW names boxes that do not exist: {", ".join(sorted(unknown))}')
    lines = ['digraph architecture {', '  rankdir=TB; newrank=true; nodesep=0.3; ranksep=0.35;',
             '  node [shape=box, style="rounded,filled", fillcolor=white, fontname=Helvetica, fontsize=10];',
             '  edge [fontname=Helvetica, fontsize=8, color="#555555"];']
    for room, (title, colour) in ROOMS.items():
        lines += [f'  subgraph cluster_{room} {{', f'    label="{title}"; style=filled; color="{colour}";',
                  '    fontname=Helvetica; fontsize=12;']
        for name, summary in found.items():
            if name.split('.')[0] == room:
                summary = summary.replace('"', "'").replace('``', '')
                text = '\\n'.join([name.split('.', 1)[1], *textwrap.wrap(summary, 30)])
                lines.append(f'    "{name}" [label="{text}"];')
        lines.append('  }')
    for name, (text, shape) in OUTSIDE.items():
        lines.append(f'  "{name}" [label="{text}", shape={shape}, fillcolor="#eeeeee"];'.replace('\n', '\\n'))
    for start, end, what, *style in FLOW:
        lines.append(f'  "{start}" -> "{end}" [label="{what}", style={style[0] if style else "solid"}];'
                     .replace('\n', '\\n'))
    return '\n'.join(lines + ['}']) + '\n'


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix('.dot').write_text(dot_source())
    print(f'wrote {out.with_suffix(".dot")}')
    dot = shutil.which('dot')
    if dot is None:
        print('dot (Graphviz) is not installed: no PNG rendered (apt install graphviz)')
        return 0
    subprocess.run([dot, '-Tpng', '-Gdpi=90', str(out.with_suffix('.dot')), '-o', str(out.with_suffix('.png'))],
                   check=True)
    print(f'wrote {out.with_suffix(".png")}')
    return 0
