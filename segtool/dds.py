"""DDS kept on this machine for tests, the demo and the benchmark: loopback only, in a domain of its own."""
from __future__ import annotations

import os
import random
from typing import MutableMapping

from seg_node.package_files import PROFILE_VARIABLES, config_file, profile_variable


def loopback(environ: MutableMapping[str, str] = os.environ, profile: bool = True) -> MutableMapping[str, str]:
    """Set ``environ`` (default: this process's) so that DDS never leaves the machine; returns it.

    Discovery stays on localhost; ``ROS_DOMAIN_ID``, unless set, is a random one, since other processes may
    share a domain. With ``profile``, Fast DDS also loads ``config/fastdds_localhost.xml`` (a 64 MB shared-memory
    segment, UDP on 127.0.0.1) unless a profile is already set (under either name), through the variable that
    this ROS's Fast DDS reads; without it, Fast DDS keeps its defaults.
    """
    environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    environ['ROS_LOCALHOST_ONLY'] = '1'
    environ.setdefault('ROS_DOMAIN_ID', str(random.randint(1, 100)))
    if profile:
        chosen = next((environ[name] for name in PROFILE_VARIABLES if environ.get(name)), None)
        environ[profile_variable()] = chosen or str(config_file('fastdds_localhost.xml'))
    else:
        for name in PROFILE_VARIABLES:
            environ.pop(name, None)
    return environ
