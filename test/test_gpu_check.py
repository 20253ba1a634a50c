"""``segtool gpu-check`` where ONNX Runtime has no usable CUDA provider: it says so, writes why, and exits 0."""
import json

import pytest

import model_factory as mf
from segtool.cli import main


@pytest.fixture
def cpu_only():
    """Skip on a machine whose ONNX Runtime has CUDA: there the check measures instead."""
    ort = pytest.importorskip('onnxruntime')
    if 'CUDAExecutionProvider' in ort.get_available_providers():
        pytest.skip('this ONNX Runtime has a CUDA provider: run make gpu-check')
    return ort


def test_without_a_cuda_provider_it_says_so_and_exits_zero(cpu_only, tmp_path, capsys):
    out = tmp_path / 'gpu'
    assert main(['gpu-check', '--out', str(out), '--model', mf.save(tmp_path), '--repeats', '20',
                 '--node-seconds', '1']) == 0
    printed = capsys.readouterr().out
    assert f'no CUDA provider: onnxruntime {cpu_only.__version__}' in printed
    assert 'Install onnxruntime-gpu as the only ONNX Runtime' in printed
    results = json.loads((out / 'gpu_check.json').read_text())
    assert results['no_cuda'].startswith('no CUDA provider:') and 'bare' not in results and 'node' not in results
    assert results['machine']['providers'] == cpu_only.get_available_providers()
    assert results['no_cuda'] in (out / 'gpu_check.md').read_text()


def test_a_cuda_provider_listed_but_unusable_is_no_cuda_provider(cpu_only, tmp_path, monkeypatch, capsys):
    # A GPU wheel without the CUDA libraries it needs lists the provider, then runs sessions on the CPU.
    listed = [*cpu_only.get_available_providers(), 'CUDAExecutionProvider']
    monkeypatch.setattr(cpu_only, 'get_available_providers', lambda: listed)
    out = tmp_path / 'gpu'
    assert main(['gpu-check', '--out', str(out), '--model', mf.save(tmp_path), '--repeats', '20',
                 '--node-seconds', '1']) == 0
    printed = capsys.readouterr().out
    assert 'lists CUDAExecutionProvider, but a session on it fell back to CPUExecutionProvider' in printed
    assert not list(out.glob('*.onnx'))  # nothing measured: no FP16 model made


def test_frame_rows_time_the_fused_model_beside_the_unfused_pipeline(tmp_path):
    """The whole-frame rows (the GPU check runs them per provider), here on the CPU provider alone."""
    from segtool.bench.gpu_check import ROWS, frame_rows
    rows = frame_rows(mf.save(tmp_path), tmp_path / 'trt', 4, tmp_path, {'cpu': ROWS['cpu']})
    assert set(rows) == {'cpu unfused', 'cpu fused'}
    assert all(row['provider'] == 'CPUExecutionProvider' and row['p50_ms'] > 0 for row in rows.values())
    assert rows['cpu fused']['same_mask_as_unfused'] == 1.0
    assert (tmp_path / 'fused_480x640.onnx').is_file()
