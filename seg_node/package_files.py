"""Where the package's data lives (models/, config/, data/) in a source tree, a ROS install or a venv."""
from __future__ import annotations

import os
import sys
from glob import glob
from pathlib import Path

from seg_node.inference import ModelError

PACKAGE = 'seg_node'
#: The models shipped in models/ (models/README.md says how each was made).
STREET_MODEL = 'camvid_fastscnn.onnx'
ROAD_MODEL = 'road_fastscnn.onnx'
PERSON_MODEL = 'person_selfie.onnx'
SOURCE_ROOT = Path(__file__).resolve().parents[1]
# The variables through which Fast DDS finds an XML profile (config/fastdds_*.xml): 3.x, Kilted on, reads the first
# (and warns that the second is deprecated); 2.x, Humble and Jazzy, reads only the second.
PROFILE_VARIABLES = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE')


def share_dirs(kind: str) -> list[Path]:
    """``kind`` (models, config, data) in the package's ament share directory, the source tree and the venv's share."""
    dirs = []
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
        try:
            dirs.append(Path(get_package_share_directory(PACKAGE)) / kind)
        except (PackageNotFoundError, OSError):  # OSError: no AMENT_PREFIX_PATH (plain venv)
            pass
    except ImportError:
        pass
    return dirs + [SOURCE_ROOT / kind, Path(sys.prefix) / 'share' / PACKAGE / kind]


def profile_variable() -> str:
    """Name the variable of PROFILE_VARIABLES that this ROS's Fast DDS reads: 2.x where its library is found."""
    folders = [*os.environ.get('LD_LIBRARY_PATH', '').split(os.pathsep), os.path.join(sys.prefix, 'lib')]
    fastdds2 = any(glob(os.path.join(folder, 'libfastrtps.so.2*')) for folder in folders if folder)
    return PROFILE_VARIABLES[1] if fastdds2 else PROFILE_VARIABLES[0]


def resolve_model_path(path: str) -> str:
    """Resolve ``model_path``: as given when absolute, else in the working directory, else in the package's models/."""
    expanded = Path(os.path.expanduser(path))
    if expanded.is_absolute():
        return str(expanded)
    folders = [Path.cwd(), *share_dirs('models')]
    for folder in folders:
        if (folder / expanded).is_file():
            return str(folder / expanded)
    searched = ', '.join(str(d) for d in folders)
    raise ModelError(f"model file not found: '{path}' (relative paths are looked up in: {searched})")


def config_file(name: str) -> Path:
    """Find a file of the package's config/ (the first place that has it)."""
    for folder in share_dirs('config'):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f'{name} is in none of: {", ".join(str(d) for d in share_dirs("config"))}')


def data_folder(name: str) -> Path:
    """Find a folder of the package's data/ (the first place that has it)."""
    for folder in share_dirs('data'):
        if (folder / name).is_dir():
            return folder / name
    raise FileNotFoundError(f'{name} is in none of: {", ".join(str(d) for d in share_dirs("data"))}')
