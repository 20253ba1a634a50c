"""``segtool soak``, short: the node streams, its camera is killed and restarted at another size and encoding."""
import json

import pytest

import model_factory as mf
from ros_harness import write_params
from segtool.cli import main


def test_node_resumes_after_the_camera_restarts_at_another_size(tmp_path):
    pytest.importorskip('matplotlib', reason='matplotlib (setup.py extra "train") is not installed')
    params = write_params(tmp_path, model_path=mf.save(tmp_path), providers=['cpu'])
    out = tmp_path / 'soak'
    assert main(['soak', '--params', str(params), '--segments', '320x240:rgb8:150', '640x480:yuv422:100',
                 '--sample-every', '1', '--warmup-segments', '0', '--warmup', '50', '--rss-goal-mb', '0',
                 '--out', str(out)]) == 0
    report = json.loads((out / 'soak.json').read_text())
    first, second = report['segments']
    assert first['masks'] >= 150 and second['masks'] >= 100  # masks at each camera's size, stamped after it started
    assert second['camera_start_to_first_masked_frame_s'] > 0
    assert report['node_exit_code'] == 0 and 'error' not in report  # one node process throughout, stopped cleanly
    assert report['summary']['masks_by_size'] == {'320x240': first['masks'], '640x480': second['masks']}
    samples = report['samples']
    assert {s['segment'] for s in samples} == {0, 1} and all(s['rss_mb'] > 0 for s in samples)
    assert max(s['fps'] for s in samples) > 0
    assert report['summary']['rss_after_warmup_mb'] > 0 and report['diagnostics_seen'] > 0
    assert (out / 'soak.png').stat().st_size > 0
    said = [d['message'] for d in report['diagnostics'] if d['name'] == '/seg_node: segmentation']
    assert any('input changed from rgb8 320 240 to yuv422 640 480' in message for message in said), said
