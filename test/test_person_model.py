"""The shipped person model (models/person_selfie.onnx) through the node's own pipeline, on real photos.

scikit-image ships the photos. The golden masks in test/data/ (256x256, the model's input size) were reviewed by
eye: the person's outline is right in both; the astronaut's mask includes the helmet she holds, the cameraman's
his camera and a small blob on the tripod. The node's masks are compared at camera resolution (512x512) with the
golden masks scaled up nearest-neighbour.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data as skimage_data

from seg_node.image_codec import Frame
from seg_node.inference import InferenceEngine
from seg_node.package_files import resolve_model_path
from seg_node.pipeline import FrameSettings, Outputs, SegmentationPipeline, model_defaults

DATA = Path(__file__).resolve().parent / 'data'
MIN_IOU = 0.97


@pytest.fixture(scope='module')
def pipeline() -> SegmentationPipeline:
    engine = InferenceEngine(resolve_model_path('person_selfie.onnx'), ['cpu'])
    return SegmentationPipeline(engine, model_defaults(engine.spec, engine.metadata), 'stretch')


def photo(name: str) -> np.ndarray:
    """Return one of scikit-image's sample photos as RGB."""
    image = getattr(skimage_data, name)()
    return np.ascontiguousarray(np.dstack([image] * 3) if image.ndim == 2 else image)


def person_mask(pipeline: SegmentationPipeline, rgb: np.ndarray) -> np.ndarray:
    """Return the node's person mask of ``rgb`` at its own resolution."""
    return pipeline.run(Frame(rgb, False), Outputs(mask=True), FrameSettings.defaults()).labels == 1


def test_metadata_describes_a_binary_sigmoid_model(pipeline):
    spec, metadata = pipeline.engine.spec, pipeline.engine.metadata
    assert pipeline.class_names == ['background', 'person']
    assert metadata.output_kind == 'sigmoid' and spec.output_kind == 'sigmoid'
    assert spec.input_hw == (256, 256) and spec.input_layout == 'NCHW'


@pytest.mark.parametrize('name', ['astronaut', 'camera'])
def test_person_mask_matches_golden(pipeline, name):
    rgb = photo(name)
    mask = person_mask(pipeline, rgb)
    golden = cv2.imread(str(DATA / f'person_{name}_mask.png'), cv2.IMREAD_GRAYSCALE)
    golden = cv2.resize(golden, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    assert mask.shape == rgb.shape[:2]
    iou = (mask & golden).sum() / (mask | golden).sum()
    assert iou >= MIN_IOU, f'{name}: IoU {iou:.3f} with the golden mask'


def test_no_person_in_a_rocket_launch(pipeline):
    assert person_mask(pipeline, photo('rocket')).mean() < 0.005
