"""The demo camera: its frame sources (street frames, generated scenes, a folder, a video, bad ones), bad QoS."""
import re
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from segtool.frame_sources import STREET, SourceError, image_files, load_frames, street_frames


def test_street_frames_are_the_shipped_camvid_frames_with_annotations():
    """The default source: 40 real frames, each with its human annotation beside it (CamVid layout)."""
    files = image_files(street_frames())
    assert len(files) == 40 and all(f.suffix == '.jpg' for f in files)
    assert all((f.parent.parent / 'testannot' / f'{f.stem}.png').is_file() for f in files)
    frames = load_frames(STREET, 360, 480, 3)
    assert [f.shape for f in frames] == [(360, 480, 3)] * 3 and frames[0].std() > 20  # a real picture


def test_scenes_are_repeatable_rgb_frames():
    first = load_frames('scenes', 48, 64, 2, seed=3)
    again = load_frames('scenes', 48, 64, 2, seed=3)
    assert len(first) == 2 and first[0].shape == (48, 64, 3) and first[0].dtype == np.uint8
    np.testing.assert_array_equal(first[1], again[1])


def test_image_folder_is_read_in_name_order_and_resized(tmp_path):
    for index, colour in enumerate([(0, 0, 255), (0, 255, 0)]):  # BGR on disk: red, then green
        cv2.imwrite(str(tmp_path / f'{index}.png'), np.full((10, 20, 3), colour, np.uint8))
    (tmp_path / 'notes.txt').write_text('not an image')
    frames = load_frames(str(tmp_path), 30, 40, 10)
    assert [f.shape for f in frames] == [(30, 40, 3)] * 2
    assert tuple(frames[0][0, 0]) == (255, 0, 0) and tuple(frames[1][0, 0]) == (0, 255, 0)


def test_video_file(tmp_path):
    path = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10, (32, 24))
    for value in (50, 200, 120):
        writer.write(np.full((24, 32, 3), value, np.uint8))
    writer.release()
    frames = load_frames(path, 24, 32, 2)
    assert len(frames) == 2 and abs(int(frames[1].mean()) - 200) < 10


@pytest.mark.parametrize('source, message', [('/no/such/place', 'neither'), ('EMPTY', 'no readable image')])
def test_bad_sources_are_named(tmp_path, source, message):
    source = str(tmp_path) if source == 'EMPTY' else source
    with pytest.raises(SourceError, match=message):
        load_frames(source, 8, 8, 1)


@pytest.mark.parametrize('parameter, message', [
    ('reliability:=sometimes', "reliability must be one of best_effort, reliable, not 'sometimes'"),
    ('depth:=0', 'depth must be at least 1')])
def test_bad_camera_qos_is_named(parameter, message):
    done = subprocess.run([sys.executable, '-m', 'segtool.demo_camera', '--ros-args', '-p', parameter],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and f'[seg_camera] error: {message}' in done.stderr, done.stderr


@pytest.mark.usefixtures('ros')
def test_camera_stops_after_its_duration_and_says_what_it_sent():
    """A camera slowed by its link still ends on time (``duration``), reporting the frames it got out."""
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    listener = rclpy.create_node('duration_listener')
    received = []
    listener.create_subscription(Image, 'image', received.append, qos_profile_sensor_data)
    camera = subprocess.Popen([sys.executable, '-m', 'segtool.demo_camera', '--ros-args', '-p', 'source:=scenes',
                               '-p', 'width:=32', '-p', 'height:=24', '-p', 'frames:=2', '-p', 'rate:=20.0',
                               '-p', 'duration:=1.0'], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    try:
        while camera.poll() is None and time.monotonic() < deadline:
            rclpy.spin_once(listener, timeout_sec=0.1)
    finally:
        camera.kill()
        log = camera.stderr.read()
        listener.destroy_node()
    sent = re.search(r'sent (\d+) of (\d+) frames in ([\d.]+) s', log)
    assert camera.returncode == 0 and sent, log
    assert float(sent.group(3)) < 2.0 and 0 < len(received) <= int(sent.group(1)) <= 21
