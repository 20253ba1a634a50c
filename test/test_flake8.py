"""flake8 over the package, as ROS 2 packages carry it (ament_flake8), with the project's settings in setup.cfg."""
from pathlib import Path

import ament_flake8.main as ament_flake8
import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ['seg_node', 'segtool', 'test', 'launch', 'setup.py']


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(monkeypatch):
    monkeypatch.chdir(ROOT)
    rc, errors = ament_flake8.main_with_errors(argv=['--config', str(ROOT / 'setup.cfg'), *PATHS])
    assert rc == 0, f'flake8 found {len(errors)} problems:\n' + '\n'.join(errors)
