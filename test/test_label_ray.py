"""``segtool label IN... -o OUT_DIR --ray``: a local Ray of 2 CPUs labels bags, folders and videos like the labeller.

One Ray is started for the module (bounded in time, stopped at the end); the command uses the Ray it finds.
"""
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import cv2
import pytest

from segtool.cli import main
from test_label import params, picture, rosbags, write_bag  # noqa: F401 (fixtures)

#: Seconds Ray may take to start, to stop, and to label this module's small inputs: a loaded 2-core machine
#: needs about a minute to start Ray and its first workers.
START_S, STOP_S, RUN_S = 300, 120, 600


@contextmanager
def bounded(seconds: int, what: str):
    """Fail the test with ``what`` if the block takes over ``seconds`` (SIGALRM: pytest runs in the main thread)."""
    def expire(signum, frame):
        raise TimeoutError(f'{what} took more than {seconds} s')

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope='module')
def local_ray():
    """Start a local Ray of 2 CPUs on 127.0.0.1, no dashboard, no usage statistics, as the command starts it."""
    ray = pytest.importorskip('ray', reason='ray (setup.py extra "ray") is not installed')
    for needed in ('rosbags', 'mcap', 'tqdm'):
        pytest.importorskip(needed, reason=f'{needed} (setup.py extra "ray") is not installed')
    from segtool.fleet_labelling import start_ray

    os.environ['RAY_USAGE_STATS_ENABLED'] = '0'
    with bounded(START_S, 'starting a local Ray'):
        start_ray(None, 2)
    try:
        yield ray
    finally:
        with bounded(STOP_S, 'stopping Ray'):
            ray.shutdown()


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root``: relative path -> bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def label(*args: str) -> int:
    with bounded(RUN_S, 'segtool label'):
        return main(['label', *args])


def test_ray_labels_like_the_labeller_reports_the_broken_input_and_skips_finished_ones(
        local_ray, rosbags, params, tmp_path, capsys):  # noqa: F811 (fixtures)
    inputs = tmp_path / 'in'
    write_bag(rosbags, inputs / 'drive', 'MCAP', {'/front/image_raw': 'rgb8', '/side/image/compressed': 'png'},
              count=3)
    (inputs / 'photos').mkdir()
    for seed in range(3):
        cv2.imwrite(str(inputs / 'photos' / f'p{seed}.png'), cv2.cvtColor(picture(seed), cv2.COLOR_RGB2BGR))
    clip = cv2.VideoWriter(str(inputs / 'clip.mkv'), cv2.VideoWriter_fourcc(*'FFV1'), 10, (64, 48))
    for seed in range(4):
        clip.write(cv2.cvtColor(picture(seed), cv2.COLOR_RGB2BGR))
    clip.release()
    broken = inputs / 'broken.mcap'
    broken.write_bytes(b'\x89MCAP0\r\n' + b'not a bag' * 10)
    good = [inputs / 'drive', inputs / 'photos', inputs / 'clip.mkv']

    alone = tmp_path / 'alone'
    for source in good:  # the single-process labeller, one input at a time
        assert label(str(source), '--params', str(params), '-o', str(alone / f'{source.stem}_labelled')) == 0
    capsys.readouterr()

    out = tmp_path / 'out'
    sources = [str(p) for p in (good[0], broken, *good[1:])]
    assert label(*sources, '--params', str(params), '-o', str(out), '--ray') == 1
    printed = capsys.readouterr()
    assert f'segtool label: error: {broken}: {broken} is truncated or damaged after 0 readable messages' in printed.err
    assert 'label: 4 inputs' in printed.out and '3 labelled (13 frames), 0 already labelled, 1 failed' in printed.out
    assert sorted(p.name for p in out.iterdir()) == ['.partial', 'clip_labelled', 'drive_labelled', 'photos_labelled']
    finished = {path: data for path, data in files(out).items() if not path.startswith('.partial/')}
    assert finished == files(alone)  # byte for byte what the labeller writes alone
    assert [p.name for p in (out / '.partial').iterdir()] == ['broken_labelled']  # what it could label, kept apart
    written = {path: (out / path).stat().st_mtime_ns for path in finished}

    broken.unlink()
    write_bag(rosbags, inputs / 'broken', 'SQLITE3', {'/cam/image_raw': 'bgr8'}, count=2)  # mended, as a folder
    sources[1] = str(inputs / 'broken')
    assert label(*sources, '--params', str(params), '-o', str(out), '--ray') == 0
    printed = capsys.readouterr().out
    assert '1 labelled (2 frames), 3 already labelled, 0 failed' in printed
    assert {path: (out / path).stat().st_mtime_ns for path in written} == written  # not labelled again
    assert (out / 'broken_labelled' / 'metadata.yaml').is_file() and not (out / '.partial').exists()
