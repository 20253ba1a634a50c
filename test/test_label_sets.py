"""The built-in label sets, matching a model's class names to them, and names/colours files."""
import json
import re

import pytest

from seg_node.label_sets import (ADE20K, CAMVID32, CITYSCAPES, LABEL_SETS, PASCAL_VOC, find_label_set, read_label_file,
                                 resolve_label_set, voc_palette)


@pytest.mark.parametrize('name', sorted(LABEL_SETS))
def test_every_set_has_unique_names_and_one_rgb_colour_each(name):
    labels = LABEL_SETS[name]
    assert labels.name == name and len(set(labels.class_names)) == len(labels.class_names)
    assert len(labels.palette) == len(labels.class_names)
    assert all(len(c) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in c) for c in labels.palette)


def test_sizes_and_landmark_entries_of_the_tables():
    assert {n: len(s.class_names) for n, s in LABEL_SETS.items()} == {
        'cityscapes': 19, 'pascal_voc': 21, 'ade20k': 150, 'camvid': 11, 'camvid32': 32, 'road': 7}
    ade = dict(zip(ADE20K.class_names, ADE20K.palette))
    assert ADE20K.class_names[:3] == ('wall', 'building', 'sky') and ADE20K.class_names[-1] == 'flag'
    assert ade['wall'] == (120, 120, 120) and ade['person'] == (150, 5, 61) and ade['flag'] == (92, 0, 255)
    assert ADE20K.class_names.index('traffic light') == 136 and ade['car'] == (0, 102, 200)
    camvid = dict(zip(CAMVID32.class_names, CAMVID32.palette))
    assert camvid['Road'] == (128, 64, 128) and camvid['Void'] == (0, 0, 0) and camvid['Wall'] == (64, 192, 0)
    assert PASCAL_VOC.palette[15] == (192, 128, 128)  # person in the VOC colour map


def test_model_class_names_find_their_built_in_set_despite_spelling():
    hub_ade = [n + ' ' if n == 'bed' else n for n in ADE20K.class_names]  # the hub's configs say 'bed '
    assert find_label_set(hub_ade) is ADE20K
    assert find_label_set([n.replace(' ', '_').title() for n in CITYSCAPES.class_names]) is CITYSCAPES
    assert find_label_set(CITYSCAPES.class_names[::-1]) is None
    assert find_label_set(['background', 'person']) is None


def test_text_file_names_with_spaces_colours_optional(tmp_path):
    path = tmp_path / 'my_set.txt'
    path.write_text('# name r g b\nroad 128 64 128\n\ntraffic light 250 170 30  # signals\nunlabelled\n')
    labels = read_label_file(path)
    assert labels.name == 'my_set'
    assert labels.class_names == ('road', 'traffic light', 'unlabelled')
    assert labels.palette == ((128, 64, 128), (250, 170, 30), tuple(int(v) for v in voc_palette(3)[2]))


def test_mapillary_style_json(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'labels': [
        {'name': 'animal--bird', 'readable': 'Bird', 'color': [165, 42, 42]},
        {'name': 'construction--flat--road', 'color': [128, 64, 128]}]}))
    labels = read_label_file(path)
    assert labels.class_names == ('Bird', 'construction--flat--road')
    assert labels.palette == ((165, 42, 42), (128, 64, 128))
    assert resolve_label_set(str(path)) == labels


@pytest.mark.parametrize('name, text, reason', [
    ('bad.txt', 'road 128 64 300\n', 'line 1: colour [128, 64, 300] is not three integers 0..255'),
    ('empty.txt', '# nothing\n', 'no classes in it'),
    ('broken.json', '{"labels": [', 'not JSON'),
    ('nameless.json', '[{"color": [1, 2, 3]}]', 'entry 0: no "readable" or "name" string'),
])
def test_a_bad_file_is_refused_naming_what_is_wrong(tmp_path, name, text, reason):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=re.escape(reason)):
        read_label_file(tmp_path / name)


def test_resolve_names_a_built_in_set_or_a_file():
    assert resolve_label_set('ade20k') is ADE20K
    with pytest.raises(ValueError, match=r"labels 'mapillary': neither a built-in set \(cityscapes, .*\) nor a file"):
        resolve_label_set('mapillary')
