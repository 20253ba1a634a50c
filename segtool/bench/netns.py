"""Two hosts on one machine: two network namespaces joined by a veth pair, shaped with ``tc``, lossy with iptables.

Host ``a`` and host ``b`` each get one end of the veth pair (MTU 1500) and a private address that exists only
inside its namespace (ADDRESSES); neither has a route anywhere else, so nothing sent there leaves them. A process
started on a host runs under ``ip netns exec`` in a mount namespace of its own with a fresh ``/dev/shm``, as on
another machine: Fast DDS's shared memory cannot carry data between the hosts. The namespaces are named
``segnet-<pid>-<token>-a|b``; ``close`` (also on an exception) stops the processes and deletes them, and a new
``TwoHosts`` first deletes those left behind by a process that died before it could.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from seg_node.package_files import PROFILE_VARIABLES, profile_variable

PREFIX = 'segnet'
HOSTS = ('a', 'b')
ADDRESSES = {'a': '10.201.0.1', 'b': '10.201.0.2'}
PREFIX_LENGTH = 30
#: A private /dev/shm per process, then the command: the mount stays inside ``ip netns exec``'s mount namespace.
PRIVATE_SHM = 'mount -t tmpfs -o size=512m segshm /dev/shm && exec "$@"'


class NetnsError(RuntimeError):
    """A command that builds, shapes or tears down the namespaces failed; the text names it and its output."""


def ip(*args: str, namespace: str | None = None) -> str:
    """Run ``ip`` (inside ``namespace`` when given); its output, or NetnsError with its error."""
    return _run(['ip', *(['-n', namespace] if namespace else []), *args])


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise NetnsError(f"'{' '.join(command)}' failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
    return done.stdout


def unavailable() -> str | None:
    """Say why two namespaces cannot be made here (no ``ip``/``tc``, not root, no CAP_NET_ADMIN); None if they can."""
    missing = [tool for tool in ('ip', 'tc', 'mount') if shutil.which(tool) is None]
    if missing:
        return f"no {', '.join(missing)} binary (Debian/Ubuntu: apt-get install -y iproute2)"
    if os.geteuid() != 0:
        return 'network namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN)'
    name = f'{PREFIX}-{os.getpid()}-probe'
    try:
        ip('netns', 'add', name)
    except NetnsError as err:
        return f'cannot create a network namespace: {err}'
    try:
        _run(['ip', 'netns', 'exec', name, 'sh', '-c', PRIVATE_SHM, 'sh', 'true'])
    except NetnsError as err:
        return f'cannot give a process in a network namespace its own /dev/shm: {err}'
    finally:
        ip('netns', 'delete', name)
    return None


def sweep() -> list[str]:
    """Delete the namespaces of this harness whose creating process is gone; their names."""
    gone = []
    for line in ip('netns', 'list').splitlines():
        found = re.match(rf'({PREFIX}-(\d+)-\S+)', line)
        if found and not Path(f'/proc/{found.group(2)}').exists():
            subprocess.run(['ip', 'netns', 'delete', found.group(1)], capture_output=True)
            gone.append(found.group(1))
    return gone


def dds_environment(profile: Path | None, domain: int) -> dict[str, str]:
    """Return this process's environment for DDS between the two hosts: discovery on the subnet, in ``domain``.

    ``profile`` is a Fast DDS XML profile loaded by every process, or None for Fast DDS's defaults. Discovery
    may leave localhost here only because the namespaces have no route beyond their veth link.
    """
    env = dict(os.environ)
    env.pop('ROS_LOCALHOST_ONLY', None)
    env.update({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET', 'ROS_DOMAIN_ID': str(domain), 'PYTHONUNBUFFERED': '1'})
    for name in PROFILE_VARIABLES:
        env.pop(name, None)
    if profile is not None:
        env[profile_variable()] = str(profile)
    return env


class TwoHosts:
    """Two network namespaces joined by a veth link; processes started on either; everything undone by ``close``."""

    def __init__(self) -> None:
        sweep()
        token = secrets.token_hex(3)
        self.names = {host: f'{PREFIX}-{os.getpid()}-{token}-{host}' for host in HOSTS}
        self.devices = {host: f'sn{token}{host}' for host in HOSTS}  # interface names: at most 15 characters
        self.processes: list[subprocess.Popen] = []
        try:
            for host in HOSTS:
                ip('netns', 'add', self.names[host])
            ip('link', 'add', self.devices['a'], 'mtu', '1500', 'type', 'veth', 'peer', 'name', self.devices['b'],
               'mtu', '1500')
            for host in HOSTS:
                ip('link', 'set', self.devices[host], 'netns', self.names[host])
                ip('addr', 'add', f'{ADDRESSES[host]}/{PREFIX_LENGTH}', 'dev', self.devices[host],
                   namespace=self.names[host])
                ip('link', 'set', 'lo', 'up', namespace=self.names[host])
                ip('link', 'set', self.devices[host], 'up', namespace=self.names[host])
                # DDS discovery multicast goes out on the link, the only way out there is
                ip('route', 'add', '224.0.0.0/4', 'dev', self.devices[host], namespace=self.names[host])
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> TwoHosts:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def shape(self, rate: str | None) -> None:
        """Limit each direction of the link to ``rate`` (``tc`` units, e.g. 100mbit) with a token bucket; None: off."""
        for host in HOSTS:
            device, namespace = self.devices[host], self.names[host]
            subprocess.run(['ip', 'netns', 'exec', namespace, 'tc', 'qdisc', 'del', 'dev', device, 'root'],
                           capture_output=True)
            if rate is not None:
                # a burst of 256 KB and up to 50 ms of queue: a frame's fragments wait rather than drop at once
                _run(['ip', 'netns', 'exec', namespace, 'tc', 'qdisc', 'add', 'dev', device, 'root', 'tbf',
                      'rate', rate, 'burst', '256kb', 'latency', '50ms'])

    def lose(self, probability: float) -> None:
        """Drop each packet arriving on either host with ``probability`` (iptables' statistic match; 0: off).

        In the raw table's PREROUTING chain a rule sees single IP fragments, as a lossy radio link loses them;
        in INPUT it would see whole reassembled datagrams.
        """
        for host in HOSTS:
            namespace = self.names[host]
            _run(['ip', 'netns', 'exec', namespace, 'iptables', '-t', 'raw', '-F', 'PREROUTING'])
            if probability > 0:
                _run(['ip', 'netns', 'exec', namespace, 'iptables', '-t', 'raw', '-A', 'PREROUTING', '-m',
                      'statistic', '--mode', 'random', '--probability', f'{probability:.6f}', '-j', 'DROP'])

    def start(self, host: str, args: list[str], log: Path, env: dict[str, str],
              stdout: int | None = None) -> subprocess.Popen:
        """``python ARGS`` on ``host`` with its own /dev/shm; stderr (and stdout unless ``stdout``) into ``log``."""
        out = open(log, 'w')
        process = subprocess.Popen(
            ['ip', 'netns', 'exec', self.names[host], 'sh', '-c', PRIVATE_SHM, 'sh', sys.executable, *args],
            stdout=out if stdout is None else stdout, stderr=out, env=env, text=True)
        out.close()
        self.processes.append(process)
        return process

    def close(self) -> None:
        """Stop the processes started here (Ctrl-C, then kill), delete both namespaces (and so the veth pair)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for name in self.names.values():
            subprocess.run(['ip', 'netns', 'delete', name], capture_output=True)
