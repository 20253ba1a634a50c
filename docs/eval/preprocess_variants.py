"""The node's preprocessing of a 640x480 street frame for a 360x480 input against OpenCV's blobFromImageWithParams.

Run from the repository root: ``.venv/bin/python docs/eval/preprocess_variants.py``; prints how far the blob is
from the node's tensor and each one's median milliseconds, in blocks of 300 calls (taking turns call by call, the
blob's worker threads slowed the node's next call about threefold).
"""
import cv2
import numpy as np

from seg_node.image_codec import Frame
from seg_node.preprocessing import Geometry, IMAGENET_MEAN, IMAGENET_STD, Preprocessor
from segtool.bench.timing import timed
from segtool.frame_sources import read_rgb, street_frames

rgb = cv2.resize(read_rgb(street_frames() / 'Seq05VD_f05100.jpg'), (640, 480))
frame, geometry = Frame(rgb, False), Geometry.plan((480, 640), (360, 480), 'stretch')
preprocess = Preprocessor(IMAGENET_MEAN, IMAGENET_STD, 'NCHW', np.float32)
params = cv2.dnn.Image2BlobParams()
params.scalefactor = (*(1 / (255 * np.asarray(IMAGENET_STD))).tolist(), 1.0)  # (v - 255 mean) / (255 std)
params.mean = (*(255 * np.asarray(IMAGENET_MEAN)).tolist(), 0.0)
params.size, params.swapRB, params.ddepth = (480, 360), False, cv2.CV_32F
params.datalayout, params.paddingmode = cv2.DNN_LAYOUT_NCHW, cv2.dnn.DNN_PMODE_NULL
node, blob = preprocess(frame, geometry), cv2.dnn.blobFromImageWithParams(rgb, params)
print(f'blob vs node: max |difference| {np.abs(node - blob).max():.2e}, values differing {(node != blob).mean():.1%}')
for _ in range(2):
    for name, call in {'node': lambda: preprocess(frame, geometry),
                       'blobFromImageWithParams': lambda: cv2.dnn.blobFromImageWithParams(rgb, params)}.items():
        print(f'{name}: {np.median(timed(call, 300, 20)) * 1e3:.3f} ms')
