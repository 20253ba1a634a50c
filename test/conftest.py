"""Keeps DDS on this machine, in a domain of its own; skips the test modules whose optional package is missing.

segtool.dds.loopback is the one place that says how DDS stays local (and sets the large-frame Fast DDS profile).
A test module that needs an optional package which does not import here is never imported: it is collected as
one test, skipped with the failed import as the reason (``-rs`` lists them; the count shows in the summary),
and pytest's header names it too. A module-level ``pytest.importorskip`` would not do: under launch_testing's
pytest plugin (``colcon test`` on a ROS 2 install), which imports every module while collecting, it skips the
whole directory.
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
    'test_quantize.py': ('onnxruntime.quantization', 'onnxruntime.transformers.float16'),
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
LEFT_OUT = {test: '; '.join(f'{m} does not import ({FAILURES[m]})' for m in needs if m in FAILURES)
            for test, needs in sorted(OPTIONAL.items()) if any(m in FAILURES for m in needs)}


def pytest_report_header(config) -> list[str]:
    """Name each test module left out and the import that failed."""
    return [f'left out {test}: {why}' for test, why in LEFT_OUT.items()]


class LeftOutModule(pytest.File):
    """A test module whose optional package does not import: never imported, one skipped test in its place."""

    def collect(self):
        """Yield the one test that stands for the module, marked skip with the reason."""
        module = self.name.rsplit('/', 1)[-1]
        item = LeftOutTest.from_parent(self, name='module left out')
        item.add_marker(pytest.mark.skip(reason=f'{module} left out: {LEFT_OUT[module]}'))
        yield item


class LeftOutTest(pytest.Item):
    """Stands for a left-out module in the test count; the skip marker keeps it from running."""

    def runtest(self) -> None:
        """Never reached: the skip marker skips it in setup."""

    def reportinfo(self):
        """Point at the module."""
        return getattr(self, 'path', None) or self.fspath, 0, f'{self.parent.name}: module left out'


# The hook's path argument: a pathlib.Path named module_path from pytest 7 on (``path`` is gone in pytest 9), a
# py.path named path before (pytest 6.2: Ubuntu 22.04's, make test-compat's Humble venv).
if int(pytest.__version__.split('.')[0]) >= 7:
    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(module_path, parent):
        """Collect a left-out module as LeftOutModule, before anything (launch_testing's plugin too) imports it."""
        if module_path.name in LEFT_OUT:
            return LeftOutModule.from_parent(parent, path=module_path)
        return None
else:
    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(path, parent):
        """Collect a left-out module as LeftOutModule, before anything (launch_testing's plugin too) imports it."""
        if path.basename in LEFT_OUT:
            return LeftOutModule.from_parent(parent, fspath=path)
        return None


@pytest.fixture(scope='module')
def ros():
    """Initialise rclpy for a test module that talks DDS itself (``pytestmark = pytest.mark.usefixtures('ros')``)."""
    rclpy.init()
    yield
    rclpy.try_shutdown()
