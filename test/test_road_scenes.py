"""The procedural road-scene generator: repeatable, exact labels, all classes."""
import numpy as np
import pytest

from seg_node.label_sets import ROAD
from segtool import road_scenes


def test_same_seed_same_scene_and_different_seeds_differ():
    image, labels = road_scenes.generate_scene(7, 120, 160)
    again_image, again_labels = road_scenes.generate_scene(7, 120, 160)
    road_scenes.generate_scene(8, 480, 640)  # other sizes and seeds in between must not disturb the stream
    third_image, third_labels = road_scenes.generate_scene(7, 120, 160)
    assert np.array_equal(image, again_image) and np.array_equal(labels, again_labels)
    assert np.array_equal(image, third_image) and np.array_equal(labels, third_labels)
    other_image, other_labels = road_scenes.generate_scene(8, 120, 160)
    assert not np.array_equal(image, other_image)
    assert not np.array_equal(labels, other_labels)


@pytest.mark.parametrize('size', [(240, 320), (97, 211), (480, 640)])
def test_shapes_dtypes_and_label_set(size):
    image, labels = road_scenes.generate_scene(3, *size)
    assert image.shape == (*size, 3) and image.dtype == np.uint8
    assert labels.shape == size and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= set(road_scenes.TRAIN_IDS)


def test_every_class_appears_and_layout_is_plausible():
    seen = set()
    for seed in range(20):
        _, labels = road_scenes.generate_scene(seed, 120, 160)
        seen |= set(np.unique(labels).tolist())
        assert (labels[-1] != road_scenes.TRAIN_IDS[ROAD.class_names.index('sky')]).all()  # ground below
        assert labels[0].tolist().count(10) + labels[0].tolist().count(2) + labels[0].tolist().count(8) == 160
    assert seen == set(road_scenes.TRAIN_IDS)


def test_geometry_does_not_depend_on_resolution():
    _, small = road_scenes.generate_scene(11, 120, 160)
    _, large = road_scenes.generate_scene(11, 480, 640)
    assert (large[2::4, 2::4] == small).mean() > 0.97


def test_labels_follow_the_paint_not_the_lighting():
    image, labels = road_scenes.generate_scene(5, 240, 320)
    sky = labels == 10
    road = labels == 0
    assert sky.any() and road.any()
    # The image is not a colour-coded label map: pixels of one class vary (texture, noise, lighting).
    assert image[road].std(0).max() > 3


def test_trainid_to_index_and_palette():
    ids = np.array([[0, 1, 2, 8], [10, 11, 13, 7]], np.uint8)
    assert road_scenes.trainid_to_index(ids).tolist() == [[0, 1, 2, 3], [4, 5, 6, 255]]
    assert len(ROAD.palette) == len(ROAD.class_names) == len(road_scenes.TRAIN_IDS)
    assert ROAD.palette[0] == (128, 64, 128)  # Cityscapes road


def test_generate_batch_matches_single_scenes():
    images, labels = road_scenes.generate_batch([4, 9], 60, 80)
    assert images.shape == (2, 60, 80, 3) and labels.shape == (2, 60, 80)
    image, label = road_scenes.generate_scene(9, 60, 80)
    assert np.array_equal(images[1], image) and np.array_equal(labels[1], label)
