"""The Fast DDS profile goes through the variable the installed Fast DDS reads (2.x: Humble, Jazzy; 3.x: Kilted)."""
import sys

import pytest

from seg_node.package_files import PROFILE_VARIABLES, profile_variable
from segtool.dds import loopback

FASTDDS3, FASTDDS2 = PROFILE_VARIABLES


@pytest.fixture
def libraries(tmp_path, monkeypatch):
    """Give an empty venv prefix and an LD_LIBRARY_PATH folder; return the folder."""
    monkeypatch.setattr(sys, 'prefix', str(tmp_path / 'venv'))
    folder = tmp_path / 'opt_ros_lib'
    folder.mkdir()
    monkeypatch.setenv('LD_LIBRARY_PATH', f'/nowhere:{folder}')
    return folder


def test_fast_dds_2_on_the_library_path_reads_the_old_name(libraries):
    (libraries / 'libfastrtps.so.2.14.5').touch()
    assert profile_variable() == FASTDDS2


def test_fast_dds_2_in_the_venv_reads_the_old_name(libraries, tmp_path):
    (tmp_path / 'venv' / 'lib').mkdir(parents=True)
    (tmp_path / 'venv' / 'lib' / 'libfastrtps.so.2.6.10').touch()
    assert profile_variable() == FASTDDS2


def test_fast_dds_3_reads_the_new_name(libraries):
    (libraries / 'libfastdds.so.3.2.3').touch()
    assert profile_variable() == FASTDDS3


def test_loopback_keeps_a_profile_set_under_either_name(libraries):
    (libraries / 'libfastrtps.so.2.14.5').touch()
    environ = loopback({FASTDDS3: '/mine.xml'})
    assert environ[FASTDDS2] == '/mine.xml'
    assert environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST' and environ['ROS_LOCALHOST_ONLY'] == '1'
    assert loopback({})[FASTDDS2].endswith('fastdds_localhost.xml')
    assert not set(PROFILE_VARIABLES) & set(loopback({FASTDDS2: '/mine.xml', FASTDDS3: '/mine.xml'}, profile=False))
