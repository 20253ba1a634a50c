#!/usr/bin/env python3
"""MediaPipe's selfie segmentation model as ONNX in ``models/``, reproducibly, verified against MediaPipe itself.

``segtool import mediapipe-selfie [--wheel PATH] [--mediapipe-python PY] [--variant V] [--check]``:

1. Take the PyPI wheel ``mediapipe==0.10.14`` (cp311, manylinux x86_64): ``--wheel`` or ``pip download``. The
   wheel's and the ``.tflite``'s sha256 must match the values pinned below.
2. Convert the ``.tflite`` with :mod:`segtool.tflite_onnx` and write the seg_node metadata (background/person,
   input in [0, 1] RGB, sigmoid output). The output is deterministic: ``--check`` converts again and fails unless
   the committed file is reproduced bit for bit.
3. Verify against MediaPipe's own runtime (its SelfieSegmentation graph: TFLite with XNNPACK) on real photos
   that scikit-image ships plus synthetic frames, fed at the model's input size so that MediaPipe's resizing is
   the identity: fail if the probability maps differ by more than ``TOLERANCE``. MediaPipe needs numpy<2, so it
   usually lives in a venv of its own: ``--mediapipe-python /path/to/venv/bin/python`` runs this file there as a
   worker (it then imports nothing of this project); without it, it is imported here if installed, else the
   verification is skipped.
"""
from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from seg_node.package_files import PERSON_MODEL

MEDIAPIPE = 'mediapipe==0.10.14'
WHEEL = 'mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl'
WHEEL_SHA256 = 'a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4'
TOLERANCE = 1e-3


@dataclass(frozen=True)
class Variant:
    tflite: str  # path inside the wheel
    sha256: str
    onnx: str  # file name under models/
    selection: int  # MediaPipe's model_selection
    input_size: tuple[int, int]  # height, width


VARIANTS = {
    'general': Variant('mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite',
                       '9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c',
                       PERSON_MODEL, 0, (256, 256)),
    'landscape': Variant('mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite',
                         'a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd',
                         'person_selfie_landscape.onnx', 1, (144, 256)),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(directory: Path) -> Path:
    """Download the pinned wheel with pip (whatever this machine's platform is)."""
    subprocess.run([sys.executable, '-m', 'pip', 'download', '--quiet', MEDIAPIPE, '--no-deps',
                    '--only-binary=:all:', '--platform', 'manylinux2014_x86_64', '--python-version', '3.11',
                    '--implementation', 'cp', '--abi', 'cp311', '--dest', str(directory)], check=True)
    return directory / WHEEL


def read_tflite(wheel: Path, variant: Variant) -> bytes:
    """Read the model's bytes from the wheel, after checking both pinned hashes."""
    if sha256(wheel.read_bytes()) != WHEEL_SHA256:
        raise SystemExit(f'{wheel}: sha256 is not the pinned {WHEEL_SHA256} ({WHEEL})')
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(variant.tflite)
    if sha256(data) != variant.sha256:
        raise SystemExit(f'{variant.tflite}: sha256 is not the pinned {variant.sha256}')
    return data


def build_onnx(tflite_bytes: bytes, variant: Variant) -> bytes:
    """Build the serialized ONNX model with seg_node metadata."""
    from seg_node.model_metadata import ModelMetadata, write_metadata
    from segtool.tflite_onnx import convert

    model = convert(tflite_bytes, graph_name=Path(variant.onnx).stem)
    model.doc_string = (f'MediaPipe selfie segmentation ({Path(variant.tflite).name}, sha256 {variant.sha256}, '
                        f'from the {MEDIAPIPE} wheel), Apache-2.0, converted by segtool.tflite_onnx. '
                        'Input RGB in [0, 1], NCHW; output person probability.')
    write_metadata(model, ModelMetadata(
        class_names=('background', 'person'), palette=((0, 0, 0), (255, 64, 64)), mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0), input_size=variant.input_size, output_kind='sigmoid'))
    return model.SerializeToString()


def verification_images(size: tuple[int, int]):
    """uint8 RGB frames [N, H, W, 3] at ``size``: scikit-image's sample photos and synthetic patterns."""
    import cv2
    import numpy as np
    from skimage import data

    photos = [data.astronaut(), data.camera(), data.coffee(), data.chelsea(), data.rocket()]
    frames = [cv2.resize(np.dstack([p] * 3) if p.ndim == 2 else p, size[::-1], interpolation=cv2.INTER_AREA)
              for p in photos]
    rng = np.random.default_rng(0)
    frames.append(rng.integers(0, 256, (*size, 3), dtype=np.uint8))
    ramp = np.linspace(0, 255, size[1], dtype=np.float32)
    frames.append(np.dstack([np.tile(ramp, (size[0], 1))] * 3).astype(np.uint8))
    return np.stack(frames)


def onnx_masks(model: bytes, images):
    """Person probability [N, H, W] from the ONNX model (onnxruntime, CPU) for uint8 RGB ``images``."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: (img.transpose(2, 0, 1)[None] / np.float32(255))})[0][:, 0]
                           for img in images])


def reference_masks(images, variant: Variant, mediapipe_python: str | None = None):
    """Person probability [N, H, W] from MediaPipe's own runtime, in this process or in ``mediapipe_python``."""
    import numpy as np

    if mediapipe_python is None:
        from mediapipe.python.solutions.selfie_segmentation import SelfieSegmentation

        with SelfieSegmentation(model_selection=variant.selection) as segmenter:
            return np.stack([segmenter.process(np.ascontiguousarray(img)).segmentation_mask for img in images])
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp, 'images.npy'), Path(tmp, 'masks.npy')
        np.save(inputs, images)
        variant_name = next(k for k, v in VARIANTS.items() if v == variant)
        subprocess.run([mediapipe_python, __file__, variant_name, str(inputs), str(outputs)], check=True)
        return np.load(outputs)


def mediapipe_available() -> bool:
    return importlib.util.find_spec('mediapipe') is not None


def import_model(variant_name: str, wheel: Path | None, out_dir: Path, mediapipe_python: str | None,
                 check: bool) -> int:
    """Convert (or, with ``check``, reproduce) the model into ``out_dir`` and verify it; the exit code."""
    variant = VARIANTS[variant_name]
    with tempfile.TemporaryDirectory() as tmp:
        model = build_onnx(read_tflite(wheel or fetch_wheel(Path(tmp)), variant), variant)
    target = out_dir / variant.onnx
    if check:
        if not target.exists() or target.read_bytes() != model:
            print(f'{target}: NOT reproduced (sha256 {sha256(model)} from the wheel)')
            return 1
        print(f'{target}: reproduced bit for bit (sha256 {sha256(model)})')
    else:
        target.write_bytes(model)
        print(f'wrote {target} ({len(model)} bytes, sha256 {sha256(model)})')

    if mediapipe_python is None and not mediapipe_available():
        print('verification skipped: mediapipe is not importable here; pass --mediapipe-python')
        return 0
    images = verification_images(variant.input_size)
    diff = abs(onnx_masks(model, images) - reference_masks(images, variant, mediapipe_python))
    per_image = ', '.join(f'{d:.2e}' for d in diff.max(axis=(1, 2)))
    print(f'max abs diff vs MediaPipe on {len(images)} frames: {diff.max():.2e} (per frame: {per_image})')
    if diff.max() > TOLERANCE:
        print(f'FAILED: above the tolerance {TOLERANCE}')
        return 1
    return 0


if __name__ == '__main__':  # the reference worker, in a venv that has mediapipe: VARIANT IMAGES.npy MASKS.npy
    import numpy as np

    name, images_path, masks_path = sys.argv[1:]
    np.save(masks_path, reference_masks(np.load(images_path), VARIANTS[name]))
