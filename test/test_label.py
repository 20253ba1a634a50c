"""``segtool label``: bags written by another tool (rosbags), a folder and a video, through the node's frame path.

The colour fixture model's answer is a known function of pixel colour, so every mask pixel is checked.
"""
import hashlib
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

import model_factory as mf
from ros_harness import write_params
from segtool.cli import main

HEIGHT, WIDTH = 48, 64


@pytest.fixture
def rosbags():
    """Return the rosbags modules the tests write and read bags with (skip where the train extra is not installed)."""
    for needed in ('rosbags', 'mcap', 'tqdm'):
        pytest.importorskip(needed, reason=f'{needed} (setup.py extra "train") is not installed')
    from rosbags.rosbag2 import Reader, Writer
    from rosbags.rosbag2.enums import StoragePlugin
    from rosbags.typesys import Stores, get_typestore
    return Reader, Writer, StoragePlugin, get_typestore(Stores.ROS2_HUMBLE)


@pytest.fixture
def params(tmp_path):
    return write_params(tmp_path, model_path=mf.save(tmp_path), providers=['cpu'])


def picture(seed: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    return mf.random_blocks(height, width, 8, seed=seed)


def image(typestore, rgb: np.ndarray, stamp: int, encoding: str):
    """Build a sensor_msgs Image or (encoding 'png') CompressedImage of the rosbags typestore, stamped ``stamp`` s."""
    header = typestore.types['std_msgs/msg/Header'](
        stamp=typestore.types['builtin_interfaces/msg/Time'](sec=stamp, nanosec=7), frame_id='cam')
    if encoding == 'png':
        data = np.frombuffer(cv2.imencode('.png', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1], np.uint8)
        return typestore.types['sensor_msgs/msg/CompressedImage'](header=header, format='png', data=data)
    pixels = rgb if encoding == 'rgb8' else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return typestore.types['sensor_msgs/msg/Image'](
        header=header, height=rgb.shape[0], width=rgb.shape[1], encoding=encoding, is_bigendian=0,
        step=rgb.shape[1] * 3, data=pixels.reshape(-1).copy())


def write_bag(rosbags, path: Path, storage: str, topics: dict, count: int, size=(HEIGHT, WIDTH)) -> dict:
    """Write ``count`` frames per topic ({topic: encoding}); {topic: [(log time, stamp s, rgb, cdr)]}."""
    _, writer_class, plugins, typestore = rosbags
    written = defaultdict(list)
    with writer_class(path, version=9, storage_plugin=getattr(plugins, storage)) as writer:
        connections = {topic: writer.add_connection(
            topic, 'sensor_msgs/msg/CompressedImage' if encoding == 'png' else 'sensor_msgs/msg/Image',
            typestore=typestore) for topic, encoding in topics.items()}
        for index in range(count):
            for offset, (topic, encoding) in enumerate(topics.items()):
                rgb = picture(10 * index + offset, *size)
                stamp = 1000 + index
                log_time = stamp * 10**9 + 5_000_000 + offset  # logged 5 ms after the stamp: not the stamp
                cdr = typestore.serialize_cdr(image(typestore, rgb, stamp, encoding), connections[topic].msgtype)
                writer.write(connections[topic], log_time, cdr)
                written[topic].append((log_time, stamp, rgb, bytes(cdr)))
    return written


def read_bag(rosbags, path: Path) -> dict:
    """{topic: [(log time, message, cdr)]} of a bag, deserialized by rosbags (not by the writer's rclpy)."""
    reader_class, _, _, typestore = rosbags
    found = defaultdict(list)
    with reader_class(path) as reader:
        for connection, log_time, cdr in reader.messages():
            found[connection.topic].append((log_time, typestore.deserialize_cdr(cdr, connection.msgtype), bytes(cdr)))
    return found


def assert_masks(masks: list, frames: list) -> None:
    """Every mask matches its frame one to one: log time, header, camera size, pixels."""
    assert [log_time for log_time, _, _ in masks] == [log_time for log_time, _, _, _ in frames]
    for (_, mask, _), (_, stamp, rgb, _) in zip(masks, frames):
        assert (mask.header.stamp.sec, mask.header.stamp.nanosec, mask.header.frame_id) == (stamp, 7, 'cam')
        assert (mask.encoding, mask.height, mask.width) == ('mono8', rgb.shape[0], rgb.shape[1])
        np.testing.assert_array_equal(mask.data.reshape(rgb.shape[:2]), mf.expected_labels(rgb))


@pytest.mark.parametrize('storage', ['SQLITE3', 'MCAP'])
def test_bag_gets_masks_one_to_one_beside_each_camera(rosbags, params, tmp_path, storage):
    source = tmp_path / 'drive'
    topics = {'/front/image_raw': 'rgb8', '/rear/image_raw': 'bgr8', '/side/image_raw/compressed': 'png'}
    frames = write_bag(rosbags, source, storage, topics, count=3)
    out = tmp_path / 'labelled'
    assert main(['label', str(source), '--params', str(params), '--out', str(out)]) == 0
    assert (out / 'metadata.yaml').is_file() and (out / 'labelled.mcap').is_file()
    found = read_bag(rosbags, out)
    assert set(found) == {*topics, '/front/segmentation/mask', '/rear/segmentation/mask', '/side/segmentation/mask'}
    for topic in topics:
        assert [cdr for _, _, cdr in found[topic]] == [cdr for _, _, _, cdr in frames[topic]]  # copied as is
        namespace = topic.split('/')[1]
        assert_masks(found[f'/{namespace}/segmentation/mask'], frames[topic])


def test_outputs_asked_for_and_one_topic(rosbags, params, tmp_path):
    source = tmp_path / 'drive.mcap'
    frames = write_bag(rosbags, tmp_path / 'drive', 'MCAP', {'/a/image': 'rgb8', '/b/image': 'rgb8'}, count=2)
    (tmp_path / 'drive' / 'drive.mcap').rename(source)  # one bare .mcap file, no metadata.yaml
    out = tmp_path / 'out'
    assert main(['label', str(source), '--params', str(params), '--out', str(out), '--topic', '/b/image',
                 '--outputs', 'mask', 'color_mask', 'overlay']) == 0
    found = read_bag(rosbags, out)
    assert set(found) == {'/b/image', '/b/segmentation/mask', '/b/segmentation/color_mask', '/b/segmentation/overlay'}
    for (_, colours, _), (_, _, rgb, _) in zip(found['/b/segmentation/color_mask'], frames['/b/image']):
        np.testing.assert_array_equal(colours.data.reshape(rgb.shape),
                                      np.asarray(mf.PALETTE, np.uint8)[mf.expected_labels(rgb)])
    assert len(found['/b/segmentation/overlay']) == 2


def test_truncated_bag_is_labelled_up_to_the_damage(rosbags, params, tmp_path, capsys):
    source = tmp_path / 'crashed'
    # VGA frames: rosbags closes an MCAP chunk every megabyte, so a cut leaves whole chunks before it.
    frames = write_bag(rosbags, source, 'MCAP', {'/cam/image_raw': 'rgb8'}, count=8, size=(480, 640))['/cam/image_raw']
    storage = source / 'crashed.mcap'
    storage.write_bytes(storage.read_bytes()[:int(storage.stat().st_size * 0.6)])
    out = tmp_path / 'out'
    assert main(['label', str(source), '--params', str(params), '--out', str(out)]) == 1
    error = capsys.readouterr().err
    assert 'crashed.mcap is truncated or damaged after' in error and f'labelled in {out}' in error
    masks = read_bag(rosbags, out)['/cam/segmentation/mask']  # the partial output is a valid bag
    assert 0 < len(masks) < len(frames)
    assert_masks(masks, frames[:len(masks)])


def test_input_is_never_written_over(rosbags, params, tmp_path, capsys):
    source = tmp_path / 'drive'
    write_bag(rosbags, source, 'SQLITE3', {'/cam/image': 'rgb8'}, count=1)

    def digest() -> str:
        return hashlib.sha256(b''.join(p.read_bytes() for p in sorted(source.iterdir()))).hexdigest()

    before = digest()
    for out in (source, source / 'inside', tmp_path):
        assert main(['label', str(source), '--params', str(params), '--out', str(out), '--overwrite']) == 1
        assert 'would write over the input' in capsys.readouterr().err
    out = tmp_path / 'labelled'
    assert main(['label', str(source), '--params', str(params), '--out', str(out)]) == 0
    assert main(['label', str(source), '--params', str(params), '--out', str(out)]) == 1
    assert f'output {out} exists' in capsys.readouterr().err
    assert main(['label', str(source), '--params', str(params), '--out', str(out), '--overwrite']) == 0
    assert digest() == before


def test_folder_gets_mask_and_overlay_pngs(params, tmp_path, capsys):
    pytest.importorskip('tqdm', reason='tqdm (setup.py extra "train") is not installed')
    folder = tmp_path / 'pictures'
    folder.mkdir()
    pictures = {f'p{seed}': picture(seed) for seed in range(3)}
    for stem, rgb in pictures.items():
        cv2.imwrite(str(folder / f'{stem}.png'), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    (folder / 'broken.png').write_bytes(b'not a png')
    out = tmp_path / 'out'
    assert main(['label', str(folder), '--params', str(params), '--out', str(out)]) == 1
    assert 'broken: cannot read image' in capsys.readouterr().err  # named, and the others are labelled
    for stem, rgb in pictures.items():
        np.testing.assert_array_equal(cv2.imread(str(out / 'mask' / f'{stem}.png'), cv2.IMREAD_UNCHANGED),
                                      mf.expected_labels(rgb))
        assert cv2.imread(str(out / 'overlay' / f'{stem}.png')).shape == rgb.shape


def test_video_gets_pngs_and_an_overlay_video(params, tmp_path):
    pytest.importorskip('tqdm', reason='tqdm (setup.py extra "train") is not installed')
    video = tmp_path / 'clip.mkv'
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'FFV1'), 10, (WIDTH, HEIGHT))  # lossless
    frames = [picture(seed) for seed in range(4)]
    for rgb in frames:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    assert main(['label', str(video), '--params', str(params)]) == 0
    out = tmp_path / 'clip_labelled'
    for index, rgb in enumerate(frames):
        np.testing.assert_array_equal(cv2.imread(str(out / 'mask' / f'frame_{index:06d}.png'), cv2.IMREAD_UNCHANGED),
                                      mf.expected_labels(rgb))
    movie = cv2.VideoCapture(str(out / 'overlay.mp4'))
    assert int(movie.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)
    assert (int(movie.get(cv2.CAP_PROP_FRAME_WIDTH)), int(movie.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (WIDTH, HEIGHT)


def test_the_params_file_is_read_like_the_node_reads_it(tmp_path, capsys):
    from seg_node.params import ParamError
    from segtool.node_params import node_pipeline, read_params_file

    path = tmp_path / 'params.yaml'
    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': {'overlay_alpha': 0.2, 'qos_depth': 3}},
                                    'seg_node': {'ros__parameters': {'overlay_alpha': 0.7, 'typo_alpha': 1}},
                                    'other_node': {'ros__parameters': {'qos_depth': 9}}}))
    overrides = read_params_file(path)
    assert overrides == {'overlay_alpha': 0.7, 'qos_depth': 3, 'typo_alpha': 1}  # the node's section wins
    model = {'model_path': mf.save(tmp_path), 'providers': ['cpu']}
    pipeline, values = node_pipeline({**overrides, **model})
    assert 'typo_alpha: not parameters of seg_node' in capsys.readouterr().err
    assert values['class_names'] == list(mf.CLASS_NAMES) and pipeline.class_names == list(mf.CLASS_NAMES)  # model's
    with pytest.raises(ParamError, match="'overlay_alpha': 2.0 is outside"):
        node_pipeline({'overlay_alpha': 2.0})
    with pytest.raises(ParamError, match='2 names but the model outputs 3 classes'):  # checked against the model
        node_pipeline({**model, 'class_names': ['a', 'b']})
    path.write_text(yaml.safe_dump({'other_node': {'ros__parameters': {}}}))
    with pytest.raises(ParamError, match='has no'):
        read_params_file(path)


def depth_messages(typestore, stamp: int) -> dict:
    """One message of each kind of depth topic a robot bag holds: {topic: (type, message)}, all 48x64 of 16 bit."""
    types = typestore.types
    time = types['builtin_interfaces/msg/Time'](sec=stamp, nanosec=7)
    header = types['std_msgs/msg/Header'](stamp=time, frame_id='depth')
    millimetres = np.random.default_rng(stamp).integers(300, 9000, (HEIGHT, WIDTH), np.uint16)
    png = np.frombuffer(cv2.imencode('.png', millimetres)[1], np.uint8)

    def raw(pixels: np.ndarray, encoding: str):
        return 'sensor_msgs/msg/Image', types['sensor_msgs/msg/Image'](
            header=header, height=HEIGHT, width=WIDTH, encoding=encoding, is_bigendian=0,
            step=WIDTH * pixels.itemsize, data=pixels.view(np.uint8).reshape(-1).copy())

    def compressed(form: str, data: np.ndarray):
        return 'sensor_msgs/msg/CompressedImage', types['sensor_msgs/msg/CompressedImage'](
            header=header, format=form, data=data)

    config_header = np.zeros(12, np.uint8)  # compressed_depth_image_transport's ConfigHeader before the PNG
    return {'/cam/depth': raw(millimetres, '16UC1'),  # in the colour camera's namespace, and written first
            '/cam/depth_metres/image_raw': raw((millimetres / 1000).astype(np.float32), '32FC1'),
            '/cam/depth/image_raw/compressedDepth': compressed('16UC1; compressedDepth png',
                                                               np.concatenate([config_header, png])),
            '/cam/depth_png/image_raw/compressed': compressed('png', png)}


def test_depth_topics_are_skipped_and_named_not_labelled(rosbags, params, tmp_path, capsys):
    _, writer_class, plugins, typestore = rosbags
    source, frames = tmp_path / 'robot', []
    with writer_class(source, version=9, storage_plugin=plugins.MCAP) as writer:
        connections = {}
        for index in range(3):
            stamp = 1000 + index
            for offset, (topic, (msgtype, message)) in enumerate(depth_messages(typestore, stamp).items()):
                if topic not in connections:
                    connections[topic] = writer.add_connection(topic, msgtype, typestore=typestore)
                writer.write(connections[topic], stamp * 10**9 + offset, typestore.serialize_cdr(message, msgtype))
            rgb = picture(index)
            if index == 0:
                connections['/cam/image_raw'] = writer.add_connection('/cam/image_raw', 'sensor_msgs/msg/Image',
                                                                      typestore=typestore)
            cdr = typestore.serialize_cdr(image(typestore, rgb, stamp, 'rgb8'), 'sensor_msgs/msg/Image')
            writer.write(connections['/cam/image_raw'], stamp * 10**9 + 10, cdr)
            frames.append((stamp * 10**9 + 10, stamp, rgb, bytes(cdr)))
    out = tmp_path / 'labelled'
    assert main(['label', str(source), '--params', str(params), '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'label: 3 frames' in printed
    for topic, kind in (('/cam/depth', '16UC1 depth image'), ('/cam/depth_metres/image_raw', '32FC1 depth image'),
                        ('/cam/depth/image_raw/compressedDepth', 'compressedDepth image'),
                        ('/cam/depth_png/image_raw/compressed', '16-bit greyscale PNG')):
        assert f'note: {topic} skipped: {kind}' in printed
    found = read_bag(rosbags, out)
    assert set(found) == {'/cam/image_raw', '/cam/segmentation/mask'}
    assert_masks(found['/cam/segmentation/mask'], frames)


def test_a_bag_labelled_twice_is_the_same_bytes(rosbags, params, tmp_path):
    source = tmp_path / 'drive'
    write_bag(rosbags, source, 'MCAP', {'/front/image_raw': 'rgb8', '/side/image_raw/compressed': 'png'}, count=3)
    runs = [tmp_path / run / 'labelled' for run in ('first', 'second')]
    for out in runs:
        assert main(['label', str(source), '--params', str(params), '--out', str(out)]) == 0
    first, second = ({p.name: p.read_bytes() for p in out.iterdir()} for out in runs)
    assert first == second  # no uninitialised padding bytes in the outputs' CDR


@pytest.mark.parametrize('form, pixels, depth', [
    ('16UC1; png compressed ', np.full((4, 4), 1500, np.uint16), True),  # compressed_image_transport's format
    ('png', np.full((4, 4), 1500, np.uint16), True),
    ('mono16; png compressed ', np.full((4, 4), 1500, np.uint16), False),  # a 16-bit grey camera
    ('rgb8; jpeg compressed bgr8', np.zeros((4, 4, 3), np.uint8), False),
    ('png', np.zeros((4, 4, 3), np.uint8), False),
    ('png', np.zeros((4, 4), np.uint8), False),
])
def test_which_compressed_images_are_depth(form, pixels, depth):
    from sensor_msgs.msg import CompressedImage

    from segtool.depth_images import depth_kind
    suffix = '.jpg' if 'jpeg' in form else '.png'
    message = CompressedImage(format=form, data=cv2.imencode(suffix, pixels)[1].tobytes())
    assert (depth_kind(message) is not None) == depth
