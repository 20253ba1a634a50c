"""Camera and seg_node on two hosts: two network namespaces joined by a veth link (segtool.bench.netns).

Skipped, with the reason, where namespaces cannot be made (no ``ip``, not root). The camera plays slowly enough
(NETNS_RATE) that the node answers every frame on any machine: what is tested is the way between the hosts, with
the profile docs/networking.md recommends there (config/fastdds_network.xml) in every process.
"""
import subprocess
import sys

import pytest

from segtool.bench import netns
from segtool.bench.network import UNSHAPED, Cell, measure

#: Camera frames per second and seconds of camera in the test over the link.
NETNS_RATE, NETNS_SECONDS = 2.0, 10.0


@pytest.fixture(scope='module')
def possible():
    """Skip where two network namespaces cannot be made here, saying why."""
    why = netns.unavailable()
    if why:
        pytest.skip(f'two network namespaces cannot be made here: {why}')


def namespaces() -> set[str]:
    """Return the network namespaces that exist now."""
    return {line.split()[0] for line in netns.ip('netns', 'list').splitlines() if line.strip()}


def test_reliable_vga_camera_on_another_host_is_answered(possible, tmp_path):
    with netns.TwoHosts() as hosts:
        row = measure(hosts, Cell(UNSHAPED, '640x480', NETNS_RATE, 'reliable', 'network'), NETNS_SECONDS, tmp_path)
    assert row['sent'] == NETNS_RATE * NETNS_SECONDS
    assert row['mask'] >= 0.95 * row['sent'], row


def test_the_hosts_reach_nothing_but_each_other(possible):
    with netns.TwoHosts() as hosts:
        for host, name in hosts.names.items():
            routes = netns.ip('route', 'show', 'table', 'all', namespace=name)
            assert 'default' not in routes, routes
            devices = {line.split(' dev ')[1].split()[0] for line in routes.splitlines() if ' dev ' in line}
            assert devices <= {hosts.devices[host], 'lo'}, routes
            assert 'mtu 1500' in netns.ip('link', 'show', hosts.devices[host], namespace=name)


def test_namespaces_and_processes_go_even_when_the_test_fails(possible, tmp_path):
    with pytest.raises(RuntimeError, match='the test failed'):
        with netns.TwoHosts() as hosts:
            names = set(hosts.names.values())
            assert names <= namespaces()
            sleeper = hosts.start('a', ['-c', 'import time; time.sleep(600)'], tmp_path / 'sleeper.log', {})
            raise RuntimeError('the test failed')
    assert not names & namespaces()
    assert sleeper.poll() is not None


def test_namespaces_left_by_a_killed_run_are_swept(possible):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    left = f'{netns.PREFIX}-{dead.pid}-abcdef-a'
    netns.ip('netns', 'add', left)
    try:
        with netns.TwoHosts():
            assert left not in namespaces()
    finally:
        subprocess.run(['ip', 'netns', 'delete', left], capture_output=True)
