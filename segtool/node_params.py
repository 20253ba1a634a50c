"""The node's parameters from its ROS 2 params file, and the pipeline it would build from them, without ROS.

Tools that must answer exactly like the node (offline labelling) read the file the node reads: a section
``seg_node:`` (or ``/seg_node:``, ``/**:``) holding ``ros__parameters:``; node-specific values win over
``/**``. Values are checked and defaulted as the node's own parameter declarations do.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Mapping

import yaml

from seg_node.params import BY_NAME, FROM_MODEL, NODE_NAME, PARAMS, ParamError, check
from seg_node.pipeline import SegmentationPipeline, build_pipeline, model_defaults, open_engine

#: Sections of a params file that apply to the node, weakest first.
SECTIONS = ('/**', f'/**/{NODE_NAME}', NODE_NAME, f'/{NODE_NAME}')
#: Parameters every ROS 2 node has: valid in a params file, meaningless offline.
ROS_PARAMETERS = ('use_sim_time', 'start_type_description_service')


def read_params_file(path: Path) -> dict:
    """Return the parameters a ROS 2 params file sets for the node; ParamError naming the file if it has none."""
    path = Path(path)
    try:
        content = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ParamError(f'cannot read params file {path}: {err}') from None
    values: dict = {}
    found = False
    for section in SECTIONS:
        block = content.get(section) if isinstance(content, dict) else None
        if isinstance(block, dict) and isinstance(block.get('ros__parameters'), dict):
            values.update(block['ros__parameters'])
            found = True
    if not found:
        raise ParamError(f"params file {path} has no {' or '.join(repr(s + ':') for s in SECTIONS)} section "
                         "with 'ros__parameters:'")
    return values


def parse_assignment(text: str) -> tuple[str, object]:
    """Split ``NAME:=VALUE`` (the value read as YAML, like ``--ros-args -p``) into name and value."""
    name, sep, value = text.partition(':=')
    if not sep or not name:
        raise ParamError(f"'{text}' is not NAME:=VALUE")
    return name, yaml.safe_load(value)


def node_pipeline(overrides: Mapping) -> tuple[SegmentationPipeline, dict]:
    """Build the pipeline the node builds under ``overrides``, and every parameter's value.

    As in the node: the declared defaults, checked; the model loaded; the parameters that default to the model
    taken from it; the whole checked against the model. ParamError, ModelError or MetadataError say what is wrong.
    """
    unknown = sorted(set(overrides) - set(BY_NAME) - set(ROS_PARAMETERS))
    if unknown:
        print(f"warning: {', '.join(unknown)}: not parameters of {NODE_NAME}; ignored, as the node does",
              file=sys.stderr)
    values = {p.name: check(p.name, overrides.get(p.name, p.default)) for p in PARAMS if p.default is not FROM_MODEL}
    engine = open_engine(values)
    defaults = model_defaults(engine.spec, engine.metadata)
    values.update({p.name: check(p.name, overrides.get(p.name, defaults[p.name]))
                   for p in PARAMS if p.default is FROM_MODEL})
    return build_pipeline(engine, values), values
