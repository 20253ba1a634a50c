"""Keeps DDS on this machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST), in a domain of its own.

It also sets the large-frame Fast DDS profile: segtool.dds.loopback is the one place that says how.
"""
from segtool.dds import loopback

loopback()
