"""The segtool console script: fast help, end-to-end train -> eval -> export, exact resume."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segtool import cli as segtool
from tiny_datasets import folder_dataset

TINY = ['--model', 'fastscnn', '--size', '32', '48', '--epoch-size', '8', '--batch-size', '4', '--road-train', '16',
        '--road-val', '4', '--threads', '2']


def console_script(name: str) -> str:
    """Find an installed console script: on PATH, beside this Python (pip), or in an ament prefix's lib/seg_node."""
    prefixes = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    candidates = [Path(sys.executable).with_name(name), *(Path(p) / 'lib' / 'seg_node' / name for p in prefixes)]
    return shutil.which(name) or str(next((c for c in candidates if c.is_file()), candidates[0]))


def test_help_lists_subcommands_without_importing_torch():
    code = ('import sys; from segtool import cli as segtool; segtool.build_parser(); '
            'assert "torch" not in sys.modules and "onnxruntime" not in sys.modules')
    subprocess.run([sys.executable, '-c', code], check=True)
    out = subprocess.run([console_script('segtool'), '--help'], check=True, capture_output=True, text=True).stdout
    for command in ('train', 'eval', 'export'):
        assert command in out


@pytest.mark.parametrize('command', ['train', 'eval', 'export'])
def test_subcommand_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        segtool.main([command, '--help'])
    assert exit_info.value.code == 0
    assert 'usage: segtool ' + command in capsys.readouterr().out


def test_train_eval_export_end_to_end(tmp_path, capsys):
    pytest.importorskip('torch')
    pytest.importorskip('onnxruntime')
    run = tmp_path / 'run'
    assert segtool.main(['train', *TINY, '--epochs', '2', '--out-dir', str(run), '--scale-jitter', '0.75', '1.5',
                         '--crop']) == 0
    assert (run / 'best.pt').exists() and (run / 'last.pt').exists()
    config = pytest.importorskip('torch').load(run / 'last.pt', weights_only=True)['config']
    assert config['scale_jitter'] == [0.75, 1.5] and config['crop'] is True

    assert segtool.main(['eval', str(run / 'best.pt'), '--count', '4', '--out', str(tmp_path / 'pt.json')]) == 0
    report = json.loads((tmp_path / 'pt.json').read_text())
    assert report['images'] == 4 and report['size'] == [32, 48] and len(report['iou']) == 7
    assert 0 <= report['mean_iou'] <= 1 and (tmp_path / 'pt.png').stat().st_size > 1000

    assert segtool.main(['export', str(run / 'best.pt'), '-o', str(tmp_path / 'm.onnx')]) == 0
    assert 'max |onnxruntime - torch|' in capsys.readouterr().out
    assert segtool.main(['eval', str(tmp_path / 'm.onnx'), '--count', '4', '--out', str(tmp_path / 'onnx.json'),
                         '--chart', str(tmp_path / 'chart.png')]) == 0
    onnx_report = json.loads((tmp_path / 'onnx.json').read_text())
    assert (tmp_path / 'chart.png').exists()
    assert onnx_report['confusion_matrix'] == report['confusion_matrix']  # same model, same predictions

    assert segtool.main(['eval', 'row-prior', '--size', '32', '48', '--baseline-train', '8', '--count', '4',
                         '--out', str(tmp_path / 'prior.json')]) == 0
    assert json.loads((tmp_path / 'prior.json').read_text())['mean_iou'] < 1


def test_resume_continues_exactly(tmp_path, monkeypatch):
    torch = pytest.importorskip('torch')
    from segtool.training import trainer
    straight, crashed = tmp_path / 'straight', tmp_path / 'crashed'
    segtool.main(['train', *TINY, '--epochs', '2', '--out-dir', str(straight)])

    calls = []
    evaluate_model = trainer.evaluate_model

    def crash_on_second_validation(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return evaluate_model(*args, **kwargs)
    monkeypatch.setattr(trainer, 'evaluate_model', crash_on_second_validation)
    with pytest.raises(KeyboardInterrupt):
        segtool.main(['train', *TINY, '--epochs', '2', '--out-dir', str(crashed)])
    monkeypatch.undo()
    assert torch.load(crashed / 'last.pt', weights_only=True)['epoch'] == 1
    segtool.main(['train', *TINY, '--epochs', '2', '--out-dir', str(crashed), '--resume'])

    a = torch.load(straight / 'last.pt', weights_only=True)
    b = torch.load(crashed / 'last.pt', weights_only=True)
    assert [h['epoch'] for h in b['history']] == [1, 2] and b['step'] == a['step'] == 4
    for key, value in a['model'].items():
        assert torch.allclose(value.float(), b['model'][key].float(), atol=1e-5), key


def test_init_fine_tunes_from_another_runs_weights(tmp_path, capsys):
    """--init copies every tensor whose name and shape match (here all but the heads for 2 classes, not 7)."""
    torch = pytest.importorskip('torch')
    from segtool.training.nets import build_model
    road = tmp_path / 'road'
    segtool.main(['train', *TINY, '--epochs', '1', '--out-dir', str(road)])
    folder_dataset(tmp_path / 'data', 2)
    tuned = tmp_path / 'tuned'
    capsys.readouterr()
    assert segtool.main(['train', *TINY, '--dataset', f'folder:{tmp_path / "data"}', '--epochs', '1', '--lr', '0',
                         '--init', str(road / 'best.pt'), '--out-dir', str(tuned)]) == 0
    assert 'starting fresh: refine1, refine2' in capsys.readouterr().out
    source = torch.load(road / 'best.pt', weights_only=True)['model']
    result = torch.load(tuned / 'last.pt', weights_only=True)
    assert result['meta']['class_names'] == ['class0', 'class1']
    parameters = dict(build_model('fastscnn', 2).named_parameters())
    kept = [n for n, p in parameters.items() if source[n].shape == p.shape]
    assert {n.split('.')[0] for n in parameters if n not in kept} == {'refine1', 'refine2'}
    for name in kept:  # learning rate 0: the copied parameters are still the source's
        assert torch.equal(result['model'][name], source[name]), name


def test_torchrun_trains_with_two_processes(tmp_path):
    pytest.importorskip('torch')
    torchrun = Path(sys.executable).with_name('torchrun')
    if not torchrun.exists():
        pytest.skip('torchrun not installed beside this python')
    out = tmp_path / 'ddp'
    proc = subprocess.run(
        [str(torchrun), '--nproc-per-node', '2', '-m', 'segtool', 'train', *TINY, '--threads', '1',
         '--epochs', '1', '--out-dir', str(out)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count('best validation mIoU') == 1  # rank 0 reports and saves
    import torch
    checkpoint = torch.load(out / 'last.pt', weights_only=True)
    assert checkpoint['step'] == 2  # DistributedSampler: 16 scenes / 2 processes / batch 4
