"""Checkpoint -> ONNX with dynamic height/width, checked against torch in ONNX Runtime, described by metadata."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from seg_node.model_metadata import ModelMetadata, write_metadata
from segtool.training.checkpoint import load_checkpoint, model_from_checkpoint


class ParityError(RuntimeError):
    """ONNX Runtime disagrees with torch beyond the tolerance."""


#: Share of pixels whose class must agree, for networks checked on classes (``exact_parity = False``, SegNet): their
#: output may jump where rounding flips a near-tie, so a logits tolerance would fail them on sound exports.
CLASS_AGREEMENT = 0.999


def metadata_from_checkpoint(checkpoint: dict) -> ModelMetadata:
    """Build the ONNX metadata of a trained model: its classes, palette, normalisation, input size, logits output."""
    meta = checkpoint['meta']
    return ModelMetadata(
        class_names=tuple(meta['class_names']), palette=tuple(tuple(int(v) for v in c) for c in meta['palette']),
        mean=tuple(meta['mean']), std=tuple(meta['std']), input_size=tuple(int(v) for v in meta['input_size']),
        output_kind='logits')


def export_module(module: torch.nn.Module, example: torch.Tensor, onnx_path: Path, num_classes: int,
                  opset: int = 17, dynamic: bool = True) -> onnx.ModelProto:
    """Export ``module`` (image ``input`` -> ``logits``, NCHW) to ``onnx_path``; return the model for more edits.

    With ``dynamic``, batch, height and width are symbolic. The class axis is stated as ``num_classes``: the exporter
    leaves it symbolic after a final resize, and readers detect layouts by it.
    """
    axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}, 'logits': {0: 'batch', 2: 'height', 3: 'width'}}
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the TorchScript exporter needs no onnxscript; torch flags it as legacy
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(module, (example,), str(onnx_path), input_names=['input'], output_names=['logits'],
                          opset_version=opset, dynamic_axes=axes if dynamic else None, dynamo=False)
    proto = onnx.load(str(onnx_path))
    proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value = num_classes
    proto.producer_name = 'segtool'
    return proto


def compare_outputs(module: torch.nn.Module, onnx_path: Path, sizes: list[tuple[int, int]],
                    seed: int = 0) -> tuple[list[float], list[float]]:
    """Run ONNX Runtime and torch on one random input per (H, W) in ``sizes``.

    Returns, per size, the largest |ONNX Runtime - torch| of the outputs and the share of pixels whose class (argmax
    over channels) is the same. Raises ParityError if the output shapes differ.
    """
    session = ort.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider'])
    generator = torch.Generator().manual_seed(seed)
    diffs, same = [], []
    for size in sizes:
        x = torch.randn(1, 3, *size, generator=generator)
        with torch.no_grad():
            expected = module(x).numpy()
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        if got.shape != expected.shape:
            raise ParityError(f'{size}: ONNX output shape {got.shape} != torch {expected.shape}')
        diffs.append(float(np.abs(got - expected).max()))
        same.append(float((got.argmax(1) == expected.argmax(1)).mean()))
    return diffs, same


def parity_sizes(h: int, w: int, dynamic: bool) -> list[tuple[int, int]]:
    """Sizes a parity check covers: the model's own and, when dynamic, a larger and an odd smaller one."""
    return [(h, w)] + ([(h + 32, w - 32), (h // 2 + 7, w // 2 + 13)] if dynamic else [])


def export_onnx(checkpoint_path: Path, onnx_path: Path, opset: int = 17, dynamic: bool = True,
                tolerance: float = 1e-3, seed: int = 0) -> dict:
    """Export, write metadata, then compare ONNX Runtime with the trained net on random inputs at the training size.

    When ``dynamic``, two other sizes are compared too. Returns the sizes, max abs differences and class agreement;
    raises ParityError above ``tolerance`` or, for a network whose class says ``exact_parity = False``, when fewer
    than ``CLASS_AGREEMENT`` of the pixels get the same class.
    """
    checkpoint = load_checkpoint(checkpoint_path)
    model = model_from_checkpoint(checkpoint)
    h, w = checkpoint['meta']['input_size']
    onnx_path = Path(onnx_path)
    # A net may offer an equivalent arrangement that runs faster in ONNX Runtime; parity is checked against the net.
    exported = model.for_export() if hasattr(model, 'for_export') else model
    proto = export_module(exported, torch.randn(1, 3, h, w), onnx_path, len(checkpoint['meta']['class_names']), opset,
                          dynamic)
    write_metadata(proto, metadata_from_checkpoint(checkpoint))
    onnx.checker.check_model(proto)
    onnx.save(proto, str(onnx_path))

    sizes = parity_sizes(h, w, dynamic)
    diffs, same = compare_outputs(model, onnx_path, sizes, seed)
    exact = getattr(model, 'exact_parity', True)
    result = {'onnx': str(onnx_path), 'sizes': [list(s) for s in sizes], 'max_abs_diff': diffs, 'same_class': same,
              'checked_on': 'logits' if exact else 'classes', 'tolerance': tolerance, 'bytes': onnx_path.stat().st_size}
    if exact and max(diffs) > tolerance:
        raise ParityError(f'ONNX Runtime differs from torch by {max(diffs):.3g} > {tolerance:g} at sizes {sizes}')
    if not exact and min(same) < CLASS_AGREEMENT:
        raise ParityError(f'ONNX Runtime and torch pick the same class on only {100 * min(same):.2f} % of the pixels '
                          f'(< {100 * CLASS_AGREEMENT:g} %) at sizes {sizes}')
    return result
