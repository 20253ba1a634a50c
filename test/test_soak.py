"""``segtool soak``: its RSS verdict on made-up series; short, for real: the camera restarts at another size."""
import json

import pytest

import model_factory as mf
from ros_harness import write_params
from seg_node.diagnostics import status_name
from seg_node.params import NODE_NAME
from segtool.bench import soak as soak_module
from segtool.bench.soak import rss_verdict, summarize
from segtool.cli import main

GOAL_MB = 5.0


def made_up_report(rss_mb: list[float], warmup_rss_mb: tuple[float, ...] = (200.0, 230.0)) -> dict:
    """Return a soak report: a warm-up segment (``warmup_rss_mb``), then one segment sampled every 100 masks."""
    samples = [{'segment': 0, 'segment_masks': 100 * (i + 1), 'masks': 100 * (i + 1), 'rss_mb': rss}
               for i, rss in enumerate(warmup_rss_mb)]
    before = samples[-1]['masks']
    samples += [{'segment': 1, 'segment_masks': 100 * (i + 1), 'masks': before + 100 * (i + 1), 'rss_mb': rss}
                for i, rss in enumerate(rss_mb)]
    segments = [{'width': 1280, 'height': 720, 'masks': before},
                {'width': 640, 'height': 480, 'masks': 100 * len(rss_mb)}]
    for segment in segments:
        segment.update(camera=f"{segment['width']}x{segment['height']} rgb8", seconds=10.0,
                       camera_start_to_first_masked_frame_s=1.0)
    return {'segments': segments, 'samples': samples}


def verdict(rss_mb: list[float], **kwargs) -> str | None:
    """Return the verdict on a made-up series, warm-up: the first segment and 100 masks of the second."""
    return rss_verdict(summarize(made_up_report(rss_mb, **kwargs), warmup=100, warmup_segments=1), GOAL_MB)


def test_a_flat_line_meets_the_goal():
    assert verdict([250.0, 250.4, 249.8, 250.1, 250.3, 250.0]) is None


def test_a_steady_leak_fails_though_each_rise_is_small():
    failure = verdict([250.0 + 1.5 * i for i in range(8)])  # +10.5 MB in rises of 1.5 MB
    assert failure == ('RSS grew 10.5 MB after the warm-up, 9.0 MB of it besides its largest step (1.5 MB) '
                       '(goal: under 5.0 MB)')


def test_a_one_off_step_is_not_a_leak():
    summary = summarize(made_up_report([250.0, 250.2, 262.0, 262.1, 261.9, 262.2]), warmup=100, warmup_segments=1)
    assert summary['rss_growth_after_warmup_mb'] == 12.2 and summary['rss_largest_step_mb'] == 11.8
    assert rss_verdict(summary, GOAL_MB) is None


def test_a_leak_with_one_step_in_it_still_fails():
    assert verdict([250.0, 251.5, 253.0, 265.0, 266.5, 268.0, 269.5]).startswith('RSS grew 19.5 MB')


def test_the_warm_up_is_left_out():
    """The warm-up segment's rise (buffers of its larger frames, kept once) counts for nothing."""
    summary = summarize(made_up_report([260.0] * 4, warmup_rss_mb=(150.0, 200.0, 260.0)), 100, 1)
    assert summary['rss_after_warmup_mb'] == 260.0 and summary['rss_growth_after_warmup_mb'] == 0.0
    assert rss_verdict(summary, GOAL_MB) is None


def test_too_few_samples_after_the_warm_up_are_not_judged():
    assert verdict([250.0, 280.0]).startswith('RSS not judged: 2 samples after the warm-up, 3 needed')
    assert verdict([]).startswith('RSS not judged: 0 samples')


@pytest.mark.parametrize('series, code, said', [
    ([250.0 + 1.5 * i for i in range(8)], 1, 'segtool soak: error: RSS grew 10.5 MB after the warm-up'),
    ([250.0, 250.2, 262.0, 262.1, 261.9, 262.2], 0, ''),
    ([250.0, 250.4, 249.8, 250.1], 0, ''),
    ([250.0], 1, 'segtool soak: error: RSS not judged: 1 samples after the warm-up'),
], ids=['leak', 'one step', 'flat', 'too short'])
def test_the_command_exits_1_on_the_verdict(tmp_path, monkeypatch, capsys, series, code, said):
    """``segtool soak`` with the goal set, the soak itself replaced by a made-up report."""
    def made_up_soak(params, segments, out, warmup, warmup_segments, **kwargs):
        report = made_up_report(series)
        report.update(node_exit_code=0, summary=summarize(report, warmup, warmup_segments))
        return report

    monkeypatch.setattr(soak_module, 'soak', made_up_soak)
    monkeypatch.setattr(soak_module, 'plot', lambda report, path: None)
    assert main(['soak', '--params', str(write_params(tmp_path)), '--warmup-segments', '1', '--warmup', '100',
                 '--rss-goal-mb', str(GOAL_MB), '--out', str(tmp_path / 'soak')]) == code
    assert said in capsys.readouterr().err


def test_node_resumes_after_the_camera_restarts_at_another_size(tmp_path):
    pytest.importorskip('matplotlib', reason='matplotlib (setup.py extra "train") is not installed')
    params = write_params(tmp_path, model_path=mf.save(tmp_path), providers=['cpu'])
    out = tmp_path / 'soak'
    assert main(['soak', '--params', str(params), '--segments', '320x240:rgb8:150', '640x480:yuv422:100',
                 '--sample-every', '1', '--warmup-segments', '0', '--warmup', '50',
                 '--rss-goal-mb', '0',  # too short to judge RSS: the verdict is tested on made-up series above
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
    said = [d['message'] for d in report['diagnostics'] if d['name'] == status_name(f'/{NODE_NAME}')]
    assert any('input changed from rgb8 320 240 to yuv422 640 480' in message for message in said), said
