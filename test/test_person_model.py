"""The shipped person model (models/person_selfie.onnx) on real photos that scikit-image ships.

The golden masks in test/data/ are this model's output thresholded at 0.5, reviewed by eye: the person's outline
is right in both; the astronaut's mask includes the helmet she holds, the cameraman's his camera and a small
blob on the tripod. The model runs through onnxruntime with the preprocessing its metadata states.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import skimage.data as skimage_data

from seg_node.model_metadata import ModelMetadata

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / 'models' / 'person_selfie.onnx'
MIN_IOU = 0.97


@pytest.fixture(scope='module')
def model():
    """(session, metadata) of the shipped model."""
    proto = onnx.load(MODEL)
    metadata = ModelMetadata.from_props({p.key: p.value for p in proto.metadata_props})
    return ort.InferenceSession(proto.SerializeToString(), providers=['CPUExecutionProvider']), metadata


def person_probability(model, rgb: np.ndarray) -> np.ndarray:
    """Probability map at the model's input size, preprocessing as the metadata says (stretch resize)."""
    session, metadata = model
    height, width = metadata.input_size
    resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    x = (resized / 255 - np.float32(metadata.mean)) / np.float32(metadata.std)
    return session.run(None, {session.get_inputs()[0].name: x.transpose(2, 0, 1)[None]})[0][0, 0]


def test_metadata_describes_a_binary_sigmoid_model(model):
    session, metadata = model
    assert metadata.class_names == ('background', 'person')
    assert metadata.output_kind == 'sigmoid'
    assert metadata.input_size == (256, 256)
    assert session.get_inputs()[0].shape == [1, 3, 256, 256]
    assert session.get_outputs()[0].shape == [1, 1, 256, 256]


@pytest.mark.parametrize('photo', ['astronaut', 'camera'])
def test_person_mask_matches_golden(model, photo):
    image = getattr(skimage_data, photo)()
    rgb = np.dstack([image] * 3) if image.ndim == 2 else image
    mask = person_probability(model, rgb) > 0.5
    golden = cv2.imread(str(REPO / 'test' / 'data' / f'person_{photo}_mask.png'), cv2.IMREAD_GRAYSCALE) > 0
    iou = (mask & golden).sum() / (mask | golden).sum()
    assert iou >= MIN_IOU, f'{photo}: IoU {iou:.3f} with the golden mask'


def test_no_person_in_a_rocket_launch(model):
    assert (person_probability(model, skimage_data.rocket()) > 0.5).mean() < 0.005
