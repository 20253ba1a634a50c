"""Dataset layouts on tiny fixture folders, the generator as a dataset, and the transforms."""
from dataclasses import replace

import cv2
import numpy as np
import pytest
from PIL import Image

from seg_node.label_sets import ROAD, voc_palette
from segtool import datasets, road_scenes
from segtool.training.transforms import Transform, TransformedDataset


def _write_rgb(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _write_mask(path, mask, palette=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(mask.astype(np.uint8), mode='P' if palette else 'L')
    if palette:
        image.putpalette(palette)
    image.save(path)


def _pair(seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), rng.integers(0, 3, (6, 8), dtype=np.uint8)


def test_folder_layout(tmp_path):
    (tmp_path / 'classes.txt').write_text('ground 10 20 30\nwall\n\nsky 1 2 3\n')
    image, mask = _pair(0)
    _write_rgb(tmp_path / 'train/images/a.png', image)
    _write_mask(tmp_path / 'train/masks/a.png', mask)
    _write_rgb(tmp_path / 'train/images/unlabelled.png', image)  # no mask: skipped
    ds = datasets.open_dataset(f'folder:{tmp_path}', 'train', (6, 8))
    assert len(ds) == 1 and ds.class_names == ['ground', 'wall', 'sky']
    assert ds.palette == [[10, 20, 30], [128, 0, 0], [1, 2, 3]]
    got_image, got_mask = ds[0]
    assert np.array_equal(got_image, image) and np.array_equal(got_mask, mask)


def test_cityscapes_maps_label_ids_to_train_ids(tmp_path):
    image, _ = _pair(1)
    label_ids = np.array([[7, 8, 11, 21], [23, 24, 26, 0], [33, 1, 255, 6]], np.uint8)
    _write_rgb(tmp_path / 'leftImg8bit/val/aachen/aachen_000000_000019_leftImg8bit.png', image[:3, :4])
    _write_mask(tmp_path / 'gtFine/val/aachen/aachen_000000_000019_gtFine_labelIds.png', label_ids)
    ds = datasets.open_dataset(f'cityscapes:{tmp_path}', 'val', (3, 4))
    assert len(ds) == 1 and len(ds.class_names) == 19
    _, mask = ds[0]
    assert mask.tolist() == [[0, 1, 2, 8], [10, 11, 13, 255], [18, 255, 255, 255]]


def test_camvid_layout_ignores_unlabelled(tmp_path):
    image, mask = _pair(2)
    mask[0, 0] = 11
    _write_rgb(tmp_path / 'train/0001TP_006690.png', image)
    _write_mask(tmp_path / 'trainannot/0001TP_006690.png', mask)
    ds = datasets.open_dataset(f'camvid:{tmp_path}', 'train', (6, 8))
    _, got = ds[0]
    assert got[0, 0] == 255 and np.array_equal(got.ravel()[1:], mask.ravel()[1:])
    assert ds.class_names[3] == 'road' and len(ds.palette) == 11


def test_voc_layout_reads_palette_indices(tmp_path):
    image, mask = _pair(3)
    mask[2, :] = 255
    (tmp_path / 'ImageSets/Segmentation').mkdir(parents=True)
    (tmp_path / 'ImageSets/Segmentation/train.txt').write_text('2007_000032\n')
    _write_rgb(tmp_path / 'JPEGImages/2007_000032.jpg', image)
    palette = voc_palette(256).ravel().tolist()
    _write_mask(tmp_path / 'SegmentationClass/2007_000032.png', mask, palette)
    ds = datasets.open_dataset(f'voc:{tmp_path}', 'train', (6, 8))
    got_image, got_mask = ds[0]
    assert got_image.shape == (6, 8, 3) and np.array_equal(got_mask, mask)
    assert ds.palette[1] == [128, 0, 0] and ds.palette[15] == [192, 128, 128]  # aeroplane, person


def test_road_dataset_splits_use_disjoint_seeds():
    train = datasets.open_dataset('road', 'train', (30, 40), road_count=3)
    test = datasets.open_dataset('road', 'test', (30, 40), road_count=3)
    assert len(train) == 3 and train.class_names == list(ROAD.class_names)
    image, mask = test[1]
    expected_image, expected_ids = road_scenes.generate_scene(datasets.ROAD_SEEDS['test'] + 1, 30, 40)
    assert np.array_equal(image, expected_image)
    assert np.array_equal(mask, road_scenes.trainid_to_index(expected_ids))
    assert mask.max() < len(ROAD.class_names)


def test_bad_dataset_spec():
    with pytest.raises(ValueError, match='LAYOUT:ROOT'):
        datasets.open_dataset('kitti:/x', 'train', (4, 4))


def test_transform_resizes_flips_and_normalises():
    image = np.zeros((4, 6, 3), np.uint8)
    image[:, :3] = 255
    mask = np.zeros((4, 6), np.uint8)
    mask[:, :3] = 2
    t = Transform((8, 12), mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 0.5), flip=1.0)
    x, y = t(image, mask, np.random.default_rng(0))
    assert x.shape == (3, 8, 12) and x.dtype == np.float32 and y.shape == (8, 12) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 2}  # nearest: no blended labels
    assert (y[:, -1] == 2).all() and (y[:, 0] == 0).all()  # flipped
    assert x[0, 0, -1] == pytest.approx(1.0) and x[1, 0, -1] == pytest.approx(2.0) and x[0, 0, 0] == -1.0
    x_plain, y_plain = t(image, mask)  # no rng: no flip
    assert (y_plain[:, 0] == 2).all()


def test_scale_jitter_and_random_crop_keep_image_and_labels_aligned():
    """Each pixel's label follows its colour through scaling, cropping, padding and flipping."""
    colours = np.array([[200, 0, 0], [0, 200, 0], [0, 0, 200]], np.uint8)
    rng = np.random.default_rng(1)
    mask = np.kron(rng.integers(0, 3, (6, 8)), np.ones((8, 8), int)).astype(np.uint8)  # 48 x 64 in 8 px blocks
    t = Transform((48, 64), mean=(0.0, 0.0, 0.0), std=(1 / 255, 1 / 255, 1 / 255), flip=0.5, scale=(0.5, 2.0),
                  crop=True)
    sizes, targets = set(), set()
    for seed in range(12):
        x, y = t(colours[mask], mask, np.random.default_rng(seed))
        assert x.shape == (3, 48, 64) and y.shape == (48, 64)
        pixels = np.rint(x.transpose(1, 2, 0)).astype(int)
        labelled = y != 255
        assert (pixels[~labelled] == 0).all()  # padding: the mean colour, normalised to 0, labels ignored
        # away from block edges (where bilinear blends colours) the colour tells the label
        solid = labelled & (pixels.max(-1) == 200) & (np.sort(pixels, -1)[:, :, 1] == 0)
        assert solid.mean() > 0.3 and (pixels[solid].argmax(-1) == y[solid]).all()
        sizes.add(int(labelled.sum()))
        targets.add(y.tobytes())
    assert len(sizes) > 3 and len(targets) == 12  # scales (some padded, some cropped) and places vary with the seed
    centred = Transform((48, 64), scale=(0.5, 0.5))(colours[mask], mask, np.random.default_rng(0))[1]
    assert (centred[12:36, 16:48] != 255).all() and (centred[:12] == 255).all() and (centred[:, :16] == 255).all()


def test_without_jitter_the_draws_are_those_of_before():
    image, mask = _pair(2)
    plain, jittered = Transform((6, 8), flip=0.5), Transform((6, 8), flip=0.5, scale=(1.0, 1.0), crop=True)
    for seed in range(8):
        a, b = plain(image, mask, np.random.default_rng(seed)), jittered(image, mask, np.random.default_rng(seed))
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_photometric_jitter_changes_colours_only():
    """Colour jitter and blur leave the labels and geometry alone; each jitter acts as its factor says."""
    rng = np.random.default_rng(5)
    image = rng.integers(40, 200, (24, 32, 3)).astype(np.uint8)
    mask = rng.integers(0, 3, (24, 32)).astype(np.uint8)
    raw = Transform((24, 32), mean=(0.0, 0.0, 0.0), std=(1 / 255, 1 / 255, 1 / 255))
    jittered = replace(raw, color_jitter=(0.4, 0.4, 0.4, 0.05), blur=0.5)
    outputs = [jittered(image, mask, np.random.default_rng(seed)) for seed in range(6)]
    assert all(np.array_equal(y, mask) for _, y in outputs)
    assert len({np.rint(x).tobytes() for x, _ in outputs}) == 6
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(outputs, (jittered(image, mask, np.random.default_rng(s))
                                                                    for s in range(6))))
    x = image.astype(np.float64)
    brighter = replace(raw, color_jitter=(0.4, 0.0, 0.0, 0.0))(image, mask, np.random.default_rng(1))[0]
    factor = np.random.default_rng(1).uniform(0.6, 1.4)
    np.testing.assert_allclose(brighter.transpose(1, 2, 0), np.clip(x * factor, 0, 255), atol=0.51)
    gray = replace(raw, color_jitter=(0.0, 0.0, 1.0, 0.0))
    seed = next(s for s in range(1000) if np.random.default_rng(s).uniform(0.0, 2.0) < 0.02)  # saturation ~ 0
    out = gray(image, mask, np.random.default_rng(seed))[0]
    assert np.ptp(out, axis=0).max() <= 0.02 * np.ptp(x, axis=-1).max() + 1  # all but grey


def test_transformed_dataset_repeats_per_epoch():
    base = datasets.open_dataset('road', 'train', (16, 20), road_count=4)
    ds = TransformedDataset(base, Transform((16, 20), flip=0.5), seed=3)
    first = [ds[i][1] for i in range(4)]
    assert all(np.array_equal(a, ds[i][1]) for i, a in enumerate(first))


def test_camvid_splits_joined_with_plus(tmp_path):
    for split, stem in (('train', '0001TP_006690'), ('val', '0016E5_07959')):
        image, mask = _pair(3)
        _write_rgb(tmp_path / split / f'{stem}.png', image)
        _write_mask(tmp_path / f'{split}annot' / f'{stem}.png', mask)
    joined = datasets.open_dataset(f'camvid:{tmp_path}', 'train+val', (6, 8))
    assert [p[0].parent.name for p in joined.pairs] == ['train', 'val']
    assert joined.class_names == datasets.open_dataset(f'camvid:{tmp_path}', 'val', (6, 8)).class_names
    with pytest.raises(FileNotFoundError):
        datasets.open_dataset(f'camvid:{tmp_path}', 'train+test', (6, 8))
