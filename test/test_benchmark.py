"""``segtool bench`` end to end on a tiny model: every row is measured and the summary ratios are computed."""
import json

import model_factory as mf
from segtool.cli import main


def test_bench_measures_every_row(tmp_path):
    model = mf.save(tmp_path)
    out = tmp_path / 'bench'
    assert main(['bench', '--model', model, '--frames', '8', '--sizes', 'VGA', '--out', str(out)]) == 0
    results = json.loads((out / 'results.json').read_text())
    inproc, dds, summary = results['in_process'], results['dds'], results['summary']
    assert inproc['bare']['p50_ms'] > 0 and inproc['provider'] == 'CPUExecutionProvider'
    for stage in ('decode', 'preprocess', 'inference', 'postprocess', 'message', 'total'):
        assert inproc['pipeline VGA all'][stage]['p50_ms'] > 0
    # A dynamic model run at camera size: the node's low-resolution argmax is the reference's argmax.
    assert inproc['mask agreement node vs reference VGA'] == 1.0
    assert dds['bare VGA']['p50_ms'] > 0
    for row in ('relay VGA', 'node mask VGA', 'node all VGA'):
        assert dds[row]['received'] == dds[row]['sent'] and dds[row]['cpu_percent'] >= 0 and dds[row]['rss_mb'] > 0
    assert dds['relay VGA']['sent'] == 16 and dds['node all VGA']['sent'] == 8  # the relay runs beside both cases
    assert dds['camera30 VGA']['received'] > 0
    assert summary['node mask VGA: e2e / bare'] > 0
    assert 'node all VGA: median of per-round (node - bare - relay) ms' in summary
    assert 'reference / node pipeline VGA (all outputs)' in summary
    assert (out / 'latency.png').stat().st_size > 0
