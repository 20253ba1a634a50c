"""A Hugging Face SegFormer checkpoint as ONNX with seg_node metadata (``segtool import segformer DIR -o OUT.onnx``).

DIR is a checkpoint directory as the user downloaded it from the hub (e.g. a SegFormer fine-tuned on Cityscapes or
ADE20K): ``config.json`` (the architecture and ``id2label``), the weights (``model.safetensors`` or
``pytorch_model.bin``) and usually ``preprocessor_config.json``. Nothing is downloaded.

- Class names come from ``id2label``; the colours from the built-in label set with the same names (Cityscapes,
  ADE20K, ...; ``seg_node.label_sets``), else the VOC colour map.
- Normalisation and input size come from ``preprocessor_config.json`` (``image_mean``, ``image_std``,
  ``rescale_factor``, ``do_rescale``, ``do_normalize``, ``size``), else SegformerImageProcessor's defaults
  (ImageNet mean and std, 512 x 512).
- SegFormer answers at a quarter of the input's resolution. By default the ONNX output stays there: the node takes
  the class decision at that resolution and resizes the labels (nearest) to the camera, which is cheap. With
  ``upsample`` the logits are resized bilinearly to the input size inside the model, as transformers'
  ``post_process_semantic_segmentation`` does, so the decision is taken per input pixel.
- Export with dynamic batch, height and width (opset 17), then a parity check: ONNX Runtime against the transformers
  model on random inputs at the input size and two others; above the tolerance nothing is kept.
"""
from __future__ import annotations

import json
from pathlib import Path

from seg_node.label_sets import LabelSet, find_label_set, voc_palette
from seg_node.preprocessing import IMAGENET_MEAN, IMAGENET_STD

#: SegformerImageProcessor's resize target when preprocessor_config.json does not say.
DEFAULT_SIZE = (512, 512)


class CheckpointError(ValueError):
    """The checkpoint directory cannot be imported; the text says why."""


def label_set(config: dict) -> tuple[LabelSet, str]:
    """Return the classes of a transformers config (``id2label``) with colours, and where the colours come from."""
    id2label = config.get('id2label')
    if not id2label:
        raise CheckpointError('config.json has no id2label: the class names are unknown')
    ids = sorted(int(i) for i in id2label)
    if ids != list(range(len(ids))):
        raise CheckpointError(f'config.json id2label: ids {ids[:5]}... are not 0..{len(ids) - 1}')
    names = tuple(str(id2label[str(i)]).strip() for i in ids)  # JSON keys are strings
    known = find_label_set(names)
    if known is not None:
        return LabelSet(known.name, names, known.palette), f"built-in label set '{known.name}'"
    return LabelSet('segformer', names, tuple(tuple(int(v) for v in c) for c in voc_palette(len(names)))), \
        'VOC colour map (the names match no built-in label set)'


def preprocessing(directory: Path) -> tuple[tuple[float, ...], tuple[float, ...], tuple[int, int], str]:
    """Return (mean, std on pixel/255, input size (H, W), where they come from) of a checkpoint directory."""
    path = directory / 'preprocessor_config.json'
    if not path.is_file():
        return IMAGENET_MEAN, IMAGENET_STD, DEFAULT_SIZE, 'SegformerImageProcessor defaults (no preprocessor config)'
    config = json.loads(path.read_text())
    # The processor computes (pixel * factor - mean) / std; on pixel/255 that is mean and std over (255 * factor).
    factor = 255.0 * (config.get('rescale_factor', 1 / 255) if config.get('do_rescale', True) else 1.0)
    if config.get('do_normalize', True):
        mean = tuple(float(v) / factor for v in config.get('image_mean', IMAGENET_MEAN))
        std = tuple(float(v) / factor for v in config.get('image_std', IMAGENET_STD))
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0 / factor,) * 3
    size = config.get('size', {'height': DEFAULT_SIZE[0], 'width': DEFAULT_SIZE[1]})
    if isinstance(size, int):
        size = {'height': size, 'width': size}
    if not {'height', 'width'} <= set(size):
        raise CheckpointError(f'{path}: size {size} is not {{"height": H, "width": W}}')
    return mean, std, (int(size['height']), int(size['width'])), str(path.name)


def load_model(directory: Path):
    """Load the transformers model of a checkpoint directory in eval mode (local files only), and its config."""
    try:
        from transformers import SegformerForSemanticSegmentation
    except ImportError:
        raise CheckpointError("transformers is not installed: pip install -e '.[segformer]'") from None
    config_path = directory / 'config.json'
    if not config_path.is_file():
        raise CheckpointError(f'{directory}: no config.json (expected a Hugging Face checkpoint directory)')
    config = json.loads(config_path.read_text())
    if config.get('model_type') != 'segformer':
        raise CheckpointError(f"{config_path}: model_type is {config.get('model_type')!r}, not 'segformer'")
    try:
        model = SegformerForSemanticSegmentation.from_pretrained(str(directory), local_files_only=True)
    except OSError as err:
        raise CheckpointError(f'{directory}: cannot load the weights: {str(err).splitlines()[0]}') from None
    return model.eval(), config


def logits_module(model, upsample: bool):
    """Wrap ``model`` as image -> logits (N, C, H/4, W/4), or resized to (N, C, H, W) with ``upsample``."""
    import torch
    import torch.nn.functional as F

    class SegformerLogits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            logits = self.model(pixel_values=x).logits
            if upsample:
                logits = F.interpolate(logits, size=x.shape[-2:], mode='bilinear', align_corners=False)
            return logits

    return SegformerLogits().eval()


def import_segformer(directory: Path, output: Path, upsample: bool = False, tolerance: float = 1e-3,
                     opset: int = 17) -> dict:
    """Convert, describe and check the checkpoint in ``directory``; returns what was done and measured.

    Raises CheckpointError for an unusable directory, ``segtool.training.export.ParityError`` above ``tolerance`` and
    ``segtool.annotation.AnnotationError`` if the node would not read the result as the config says.
    """
    import torch

    from segtool.annotation import annotate
    from segtool.training.export import ParityError, compare_outputs, export_module, parity_sizes

    directory, output = Path(directory), Path(output)
    model, config = load_model(directory)
    labels, colours = label_set(config)
    mean, std, size, normalisation = preprocessing(directory)
    module = logits_module(model, upsample)
    proto = export_module(module, torch.randn(1, 3, *size), output, len(labels.class_names), opset)
    proto.doc_string = (f'SegFormer ({config.get("_name_or_path") or directory.name}) imported by segtool import '
                        f'segformer; logits at {"the input" if upsample else "a quarter of the input"} resolution.')
    trial = annotate(proto, output, labels, mean, std, size, 'logits')
    sizes = parity_sizes(*size, dynamic=True)
    diffs, _ = compare_outputs(module, output, sizes)
    if max(diffs) > tolerance:
        output.unlink()
        raise ParityError(f'ONNX Runtime differs from transformers by {max(diffs):.3g} > {tolerance:g} at {sizes}')
    return {'onnx': str(output), 'classes': len(labels.class_names), 'colours': colours,
            'normalisation': normalisation, 'mean': mean, 'std': std, 'input_size': size, 'upsample': upsample,
            'sizes': sizes, 'max_abs_diff': diffs, 'tolerance': tolerance, 'trial': trial}
