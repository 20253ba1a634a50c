"""The CRF choice of docs/postprocessing.md: seg_node.refine.crf against pydensecrf2, side by side, scene by scene.

Needs pydensecrf2 (not a dependency of the project): ``.venv/bin/pip install pydensecrf2``.
"""
import time

import numpy as np
import pydensecrf.densecrf as dcrf

from seg_node.image_codec import Frame
from seg_node.package_files import ROAD_MODEL, resolve_model_path
from seg_node.postprocessing import softmax
from seg_node.refine.crf import dense_crf
from segtool.datasets import open_dataset
from segtool.node_eval import node_pipeline
from segtool.training.metrics import ConfusionMatrix

pipe = node_pipeline(resolve_model_path(ROAD_MODEL))
scenes = open_dataset('road', 'val', (240, 320), 20)  # the model's input size: the CRF's resolution


def library(p, image, appearance, smoothness):
    """Five iterations of pydensecrf2 with the sigmas of the node's defaults."""
    crf = dcrf.DenseCRF2D(320, 240, p.shape[0])
    crf.setUnaryEnergy(np.ascontiguousarray(-np.log(np.maximum(p, 1e-6)).reshape(p.shape[0], -1)))
    crf.addPairwiseGaussian(sxy=1.0, compat=smoothness)
    crf.addPairwiseBilateral(sxy=40.0, srgb=13.0, rgbim=np.ascontiguousarray(image), compat=appearance)
    return np.array(crf.inference(5)).reshape(p.shape)


methods = {'raw argmax': lambda p, image: p}
for weight in (5.0, 10.0):
    methods[f'seg_node.refine.crf, w_a={weight:g}'] = \
        lambda p, image, weight=weight: dense_crf(p, image, 5, 40.0, 13.0, weight, 3.0, 1.0)
    methods[f'pydensecrf2, compat_a={weight:g}'] = lambda p, image, weight=weight: library(p, image, weight, 3.0)
scores = {m: ConfusionMatrix(7) for m in methods}
times = {m: [] for m in methods}
for i in range(len(scenes)):
    image, truth = scenes[i]
    geometry = pipe.geometry(image.shape[:2])
    raw = pipe.engine.run(pipe.preprocess(Frame(image, False), geometry))
    p = softmax(pipe.postprocess.scores(raw, geometry)[0])
    for m, method in methods.items():  # side by side, scene by scene
        start = time.perf_counter()
        q = method(p, image)
        times[m].append(time.perf_counter() - start)
        scores[m].update(q.argmax(0), truth)
for m in methods:
    print(f'| {m} | {scores[m].mean_iou():.4f} | {scores[m].iou()[5]:.4f} | {1000 * np.median(times[m]):.1f} |')
