"""Keeps DDS on this machine, in a domain of its own; leaves out the test modules whose optional package is missing.

segtool.dds.loopback is the one place that says how DDS stays local (and sets the large-frame Fast DDS profile).
A test module that needs an optional package which does not import here is left out of collection alone
(``collect_ignore``), with the reason in pytest's header. A module-level ``pytest.importorskip`` would not do:
under launch_testing's pytest plugin (``colcon test`` on a ROS 2 install) it skips the whole directory.
"""
from __future__ import annotations

import importlib

import pytest
import rclpy

from segtool.dds import loopback

loopback()

# test module -> the optional modules it imports at module level (the runtime's own dependencies are not optional)
OPTIONAL = {
    'test_flake8.py': ('ament_flake8.main',),
    'test_pep257.py': ('ament_pep257.main',),
    'test_launch.py': ('launch_testing', 'launch_ros'),
    'test_launch_exit.py': ('launch_testing', 'launch_ros'),
    'test_person_model.py': ('skimage.data',),
    'test_tflite_onnx.py': ('tflite', 'flatbuffers'),
    'test_training_datasets.py': ('PIL',),
    'test_training_losses.py': ('torch',),
    'test_training_nets.py': ('torch',),
}


def import_failure(module: str) -> str | None:
    """Say why ``module`` does not import here; None when it does."""
    try:
        importlib.import_module(module)
    except Exception as err:  # ImportError, or e.g. a binary built against another numpy
        return f'{type(err).__name__}: {err}'
    return None


FAILURES = {module: why for module in sorted({m for needs in OPTIONAL.values() for m in needs})
            if (why := import_failure(module)) is not None}
collect_ignore = sorted(test for test, needs in OPTIONAL.items() if any(m in FAILURES for m in needs))


def pytest_report_header(config) -> list[str]:
    """Name each test module left out and the import that failed."""
    return [f'left out {test}: ' + '; '.join(f'{m} does not import ({FAILURES[m]})' for m in OPTIONAL[test]
                                             if m in FAILURES) for test in collect_ignore]


@pytest.fixture(scope='module')
def ros():
    """Initialise rclpy for a test module that talks DDS itself (``pytestmark = pytest.mark.usefixtures('ros')``)."""
    rclpy.init()
    yield
    rclpy.try_shutdown()
