"""Logit adjustment: the shift, its folding into each net's output bias, the sweep, and ``segtool adjust-logits``."""
import json

import numpy as np
import pytest
import torch

from segtool import cli as segtool
from segtool.training.checkpoint import save_checkpoint
from segtool.training.logit_adjustment import fold_into_output_bias, logit_shift, sweep
from segtool.training.nets import build_model
from tiny_datasets import folder_dataset

torch.set_num_threads(2)
SHIFT = np.array([0.5, -1.0, 2.0], np.float32)


def test_shift_takes_back_tau_of_the_log_weights():
    np.testing.assert_allclose(logit_shift([1.0, np.e, 0.5], 0.8), [0.0, -0.8, 0.8 * np.log(2)], rtol=1e-6)
    assert not logit_shift([0.3, 7.0], 0.0).any()
    with pytest.raises(ValueError, match='positive'):
        logit_shift([1.0, 0.0], 0.5)


def _with_batch_statistics(name: str, classes: int = 3) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(name, classes)
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 64, 96))
    return model.eval()


@pytest.mark.parametrize('name, layer', [('fastscnn', 'refine1.1'), ('unet', 'head'), ('segnet', 'classifier'),
                                         ('deeplabv3plus', 'classifier')])
def test_folding_moves_every_logit_by_its_shift(name, layer):
    model = _with_batch_statistics(name)
    x = torch.randn(1, 3, 45, 61)  # another size and input than the check inside
    with torch.no_grad():
        before = model(x)
        assert fold_into_output_bias(model, SHIFT) == layer
        moved = model(x) - before
    np.testing.assert_allclose(moved.numpy(), np.broadcast_to(SHIFT[None, :, None, None], moved.shape), atol=1e-4)


@pytest.mark.parametrize('make', [
    lambda: build_model('fcn', 3),  # its last layer is a learnt upsampling without bias
    lambda: torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.ReLU()),
], ids=['fcn', 'relu-after-the-logits'])
def test_nets_whose_logits_no_bias_moves_directly_are_refused_and_left_unchanged(make):
    model = make()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match='no convolution'):
        fold_into_output_bias(model, SHIFT)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


class _Scores:
    """Three images whose red channel is a score s in 0, 0.2 .. 1.0 by column; class 1 is true where s > 0.5."""

    class_names, palette = ['background', 'rare'], [[0, 0, 0], [255, 255, 255]]

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i: int):
        image = np.zeros((4, 6, 3), np.uint8)
        image[..., 0] = np.arange(6) * 51
        return image, np.broadcast_to((np.arange(6) * 51 > 128).astype(np.int64), (4, 6)).copy()


def test_sweep_scores_each_shift_as_counted_by_hand():
    """The model's logits are (0, s); shifting class 1 by -tau predicts it where s > tau."""
    model = torch.nn.Conv2d(3, 2, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
        model.weight[1, 0] = 1.0
    meta = {'class_names': _Scores.class_names, 'mean': [0, 0, 0], 'std': [1, 1, 1]}
    shifts = {tau: np.array([0.0, -tau], np.float32) for tau in (0.0, 0.5, 0.9)}
    scores = sweep(model, meta, _Scores(), (4, 6), shifts, batch_size=2, progress=False)
    # columns with s = 0, .2, .4 are background, .6, .8, 1 rare; tau 0 calls s > 0 rare, tau 0.9 only s = 1
    np.testing.assert_allclose(scores[0.0].iou(), [1 / 3, 3 / 5])
    np.testing.assert_allclose(scores[0.5].iou(), [1.0, 1.0])
    np.testing.assert_allclose(scores[0.9].iou(), [3 / 5, 1 / 3])
    assert scores[0.0].matrix.sum() == 3 * 4 * 6


def test_adjust_logits_chooses_tau_on_val_and_writes_an_exportable_checkpoint(tmp_path, capsys):
    meta = {'class_names': ['class0', 'class1', 'class2'], 'palette': [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
            'mean': [0.4, 0.5, 0.6], 'std': [0.2, 0.25, 0.3], 'input_size': [40, 56]}
    weights = [0.5, 1.0, 4.0]
    model = _with_batch_statistics('fastscnn')
    save_checkpoint(tmp_path / 'run.pt', model, {'model': 'fastscnn', 'class_weights': weights}, meta,
                    optimizer={'state': {}}, epoch=3)
    folder_dataset(tmp_path / 'data', 3)
    report, adjusted = tmp_path / 'taus.json', tmp_path / 'adjusted.pt'
    assert segtool.main(['adjust-logits', str(tmp_path / 'run.pt'), '--dataset', f'folder:{tmp_path / "data"}',
                         '--taus', '0', '0.5', '1', '--report', str(report), '-o', str(adjusted)]) == 0
    table = json.loads(report.read_text())
    assert [row['tau'] for row in table['rows']] == [0, 0.5, 1] and table['images'] == 4
    best = max(table['rows'], key=lambda row: row['mean_iou'])['tau']
    assert table['best_tau'] == best and f'tau {best} folded into refine1.1.bias' in capsys.readouterr().out

    saved = torch.load(adjusted, weights_only=True)
    assert saved['logit_adjustment']['tau'] == best and saved['epoch'] == 3 and 'optimizer' not in saved
    shifted = build_model('fastscnn', 3).eval()
    shifted.load_state_dict(saved['model'])
    x = torch.randn(1, 3, 40, 56)
    with torch.no_grad():
        moved = (shifted(x) - model(x)).numpy()
    np.testing.assert_allclose(moved, np.broadcast_to(logit_shift(weights, best)[None, :, None, None], moved.shape),
                               atol=1e-4)
    assert segtool.main(['export', str(adjusted), '-o', str(tmp_path / 'adjusted.onnx')]) == 0

    with pytest.raises(SystemExit, match='adjusted already'):
        segtool.main(['adjust-logits', str(adjusted), '--tau', '0.5', '-o', str(tmp_path / 'twice.pt')])
    save_checkpoint(tmp_path / 'plain.pt', model, {'model': 'fastscnn'}, meta)
    with pytest.raises(SystemExit, match='without class weights'):
        segtool.main(['adjust-logits', str(tmp_path / 'plain.pt'), '--tau', '0.5', '-o', str(tmp_path / 'x.pt')])
    with pytest.raises(SystemExit, match='segtool adjust-logits: dataset classes'):
        segtool.main(['adjust-logits', str(tmp_path / 'run.pt'), '--dataset', 'road', '--taus', '0'])
    assert not (tmp_path / 'twice.pt').exists() and not (tmp_path / 'x.pt').exists()
