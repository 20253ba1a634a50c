"""The two rooms stay apart: the runtime never imports the workbench, and the architecture picture is current."""
import json
import subprocess
import sys
from pathlib import Path

from seg_node.package_files import resolve_model_path
from seg_node.params import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]
#: What the robot's runtime must never load: the workbench and the libraries only it needs.
WORKBENCH = ('segtool', 'torch', 'onnx', 'tflite', 'matplotlib', 'PIL', 'skimage', 'transformers')

RUNTIME_PROBE = """
import importlib, json, pkgutil, sys
import numpy as np
import seg_node
for module in pkgutil.walk_packages(seg_node.__path__, 'seg_node.'):
    importlib.import_module(module.name)
from sensor_msgs.msg import Image
from seg_node.frame_path import process_frame
from seg_node.image_codec import decode_image, fill_image
from seg_node.inference import InferenceEngine
from seg_node.pipeline import FrameSettings, Outputs, build_pipeline, default_values
engine = InferenceEngine(sys.argv[1], ['cpu'])
pipeline = build_pipeline(engine, {**default_values(engine), 'resize_mode': 'letterbox'})
message = Image()
fill_image(message, np.zeros((48, 64, 3), np.uint8), 'rgb8')
every = Outputs(mask=True, color_mask=True, overlay=True, confidence=True)
processed = process_frame(pipeline, message, decode_image, every, FrameSettings.defaults())
assert set(processed.messages) == {'mask', 'color_mask', 'overlay', 'confidence'}
print(json.dumps(sorted(sys.modules)))
"""


def test_the_runtime_loads_nothing_of_the_workbench():
    """Import every seg_node module and segment a frame with the shipped model in a fresh interpreter."""
    model = resolve_model_path(DEFAULT_MODEL)
    result = subprocess.run([sys.executable, '-c', RUNTIME_PROBE, model], capture_output=True, text=True,
                            cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert 'seg_node.node' in loaded and 'onnxruntime' in loaded
    offending = sorted(name for name in loaded if name.split('.')[0] in WORKBENCH)
    assert offending == [], f'the runtime imported workbench modules: {offending}'


def test_the_architecture_picture_is_current():
    """docs/architecture.dot is what ``segtool architecture`` draws today: every module, every arrow."""
    from segtool.commands.architecture import boxes, dot_source

    drawn = (ROOT / 'docs' / 'architecture.dot').read_text()
    assert drawn == dot_source(), 'docs/architecture.dot is stale: run segtool architecture'
    for name in boxes():
        assert f'"{name}" [label=' in drawn
    assert 'seg_node.node' in boxes() and 'segtool.training' in boxes()
