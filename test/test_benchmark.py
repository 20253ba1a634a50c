"""``segtool bench`` end to end on a tiny model: every row is measured and the summary ratios are computed."""
import json

import model_factory as mf
from seg_node.diagnostics import STAGES
from segtool.cli import main


def test_bench_measures_every_row(tmp_path):
    model = mf.save(tmp_path)
    out = tmp_path / 'bench'
    assert main(['bench', '--model', model, '--frames', '8', '--sizes', 'VGA', '--fused', '--out', str(out)]) == 0
    results = json.loads((out / 'results.json').read_text())
    inproc, dds, summary = results['in_process'], results['dds'], results['summary']
    assert inproc['bare']['p50_ms'] > 0 and inproc['provider'] == 'CPUExecutionProvider'
    for stage in set(STAGES) - {'queued', 'publish', 'compress'}:  # in process: no queue, no DDS; no compressed topic
        assert inproc['pipeline VGA all'][stage]['p50_ms'] > 0
    # A dynamic model run at camera size: the node's low-resolution argmax is the reference's argmax.
    assert inproc['mask agreement node vs reference VGA'] == 1.0
    assert dds['bare VGA']['p50_ms'] > 0
    for row in ('relay VGA', 'node mask VGA', 'node fused mask VGA', 'node all VGA'):
        assert dds[row]['received'] == dds[row]['sent'] and dds[row]['cpu_percent'] >= 0 and dds[row]['rss_mb'] > 0
    assert dds['relay VGA']['sent'] == 16 and dds['node all VGA']['sent'] == 8  # the relay runs beside both cases
    assert dds['camera30 VGA']['received'] > 0
    assert summary['node mask VGA: e2e / bare'] > 0 and summary['node fused mask VGA: e2e / bare'] > 0
    assert 'node all VGA: median of per-round (node - bare - relay) ms' in summary
    assert 'reference / node pipeline VGA (all outputs)' in summary
    assert (out / 'latency.png').stat().st_size > 0


def test_bench_versus_times_other_models_at_their_own_input_size(tmp_path):
    """--versus: bare inference of each model at its default input size, with its ratio to --model's."""
    small, large = mf.save(tmp_path, 'small.onnx', size=(24, 32)), mf.save(tmp_path, 'large.onnx', size=(240, 320))
    out = tmp_path / 'bench'
    assert main(['bench', '--model', small, '--versus', large, '--frames', '8', '--sizes', 'VGA', '--skip-dds',
                 '--out', str(out)]) == 0
    versus = json.loads((out / 'results.json').read_text())['versus']
    assert versus[small]['input_hw'] == [24, 32] and versus[large]['input_hw'] == [240, 320]
    assert versus[small]['ratio_to_first'] == 1.0 and versus[large]['ratio_to_first'] > 1.0  # 100x the pixels


def test_bench_compares_one_node_for_several_cameras_with_one_node_each(tmp_path):
    model = mf.save(tmp_path, batch='batch')
    out = tmp_path / 'bench'
    assert main(['bench', '--model', model, '--frames', '5', '--sizes', 'VGA', '--skip-dds', '--cameras', '2',
                 '--camera-seconds', '2', '--out', str(out)]) == 0
    results = json.loads((out / 'results.json').read_text())
    for setup in ('batched 2', 'separate 2'):
        row = results['cameras'][setup]
        assert 2 * 58 <= row['sent'] <= 2 * 61 and 0 < row['received'] <= row['sent'], row  # 2 cameras, 2 s, 30 Hz
        assert row['fps_per_camera_min'] > 0 and row['rss_mb'] > 0 and row['cpu_percent'] > 0, row
    assert results['summary']['2 cameras: RSS, one node / 2 nodes'] < 1  # one process instead of two
    logs = sorted(p.name for p in out.glob('cameras2_*.log'))
    assert logs == ['cameras2_batched_0.log', 'cameras2_separate_0.log', 'cameras2_separate_1.log']
