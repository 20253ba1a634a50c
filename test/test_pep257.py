"""Docstring style (PEP 257) over the package, as ROS 2 packages carry it (ament_pep257).

The ament convention, with one difference: a multi-line docstring's summary starts on its first line (D212), as
everywhere in this project, instead of the second (D213).
"""
from pathlib import Path

import ament_pep257.main as ament_pep257
import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ['seg_node', 'segtool', 'test', 'launch', 'setup.py']


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257(monkeypatch):
    monkeypatch.chdir(ROOT)
    rc = ament_pep257.main(argv=['--add-ignore', 'D213', '--add-select', 'D212', *PATHS])
    assert rc == 0, 'docstring style problems: see the output above'
