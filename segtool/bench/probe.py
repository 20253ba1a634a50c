"""The benchmark's DDS side: its own node that sends frames and times the answers, and the processes under test."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process, from /proc."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return round(int(line.split()[1]) / 1024, 1)
    return float('nan')


def stamp_key(message) -> int:
    """Return a frame's identity: its header stamp in nanoseconds."""
    return message.header.stamp.sec * 10**9 + message.header.stamp.nanosec


class DdsProbe:
    """The benchmark's own node: sends frames to each process under test and times the answers."""

    def __init__(self) -> None:
        self.node = rclpy.create_node(f'seg_bench_{os.getpid()}_{time.monotonic_ns()}')
        self.publishers = {}
        self.arrivals: dict[str, dict[int, float]] = {}

    def target(self, name: str, frames_topic: str, answer_topic: str) -> None:
        """Send frames for ``name`` on ``frames_topic``; its answer for a frame comes on ``answer_topic``."""
        self.publishers[name] = self.node.create_publisher(
            Image, frames_topic, QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        arrivals = self.arrivals[name] = {}
        self.node.create_subscription(
            Image, answer_topic, lambda m: arrivals.__setitem__(stamp_key(m), time.perf_counter()), 10)

    def listen(self, topics: tuple[str, ...]) -> dict[str, list]:
        """Subscribe to ``topics`` as a user would (the node computes only what is subscribed); their stamps."""
        seen: dict[str, list] = {}
        for topic in topics:
            stamps = seen[topic] = []
            self.node.create_subscription(Image, topic, lambda m, s=stamps: s.append(stamp_key(m)), 10)
        return seen

    def wait_ready(self, processes: list[subprocess.Popen], timeout: float = 60.0) -> None:
        """Until every process under test subscribes to its frames and publishes its answers."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f'process under test exited with {process.returncode}')
            if all(p.get_subscription_count() for p in self.publishers.values()) and all(
                    self.node.count_publishers(s.topic_name) for s in self.node.subscriptions):
                self.spin(1.0)
                return
            self.spin(0.1)
        raise RuntimeError('process under test never connected')

    def spin(self, seconds: float) -> None:
        """Handle arrivals for ``seconds``, blocking between them: polling would take CPU from the node under test."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            rclpy.spin_once(self.node, timeout_sec=left)

    def send(self, name: str, message, key: int) -> float:
        """Publish ``message`` to ``name`` stamped ``key`` (ns); when it was sent."""
        message.header.stamp.sec, message.header.stamp.nanosec = divmod(key, 10**9)
        sent = time.perf_counter()
        self.publishers[name].publish(message)
        return sent

    def round_trip(self, name: str, message, key: int, timeout: float = 2.0) -> float | None:
        """Send one frame stamped ``key`` to ``name`` and wait for its answer: seconds, or None if none came."""
        arrivals = self.arrivals[name]
        sent = self.send(name, message, key)
        end = sent + timeout
        while key not in arrivals and (left := end - time.perf_counter()) > 0:
            rclpy.spin_once(self.node, timeout_sec=left)
        return arrivals[key] - sent if key in arrivals else None

    def open_loop(self, names: list[str], message, rate: float,
                  seconds: float) -> dict[str, tuple[list[float], float, int]]:
        """Feed each of ``names`` like a camera at ``rate`` Hz, all at once; per name (latencies, output fps, sent)."""
        sent_at: dict[str, dict[int, float]] = {name: {} for name in names}
        for name in names:
            self.arrivals[name].clear()
        period, start = 1.0 / rate, time.perf_counter()
        index = 0
        while time.perf_counter() - start < seconds:
            index += 1
            key = (200000 + index) * 10**9
            for name in names:
                sent_at[name][key] = self.send(name, message, key)
            self.spin(start + index * period - time.perf_counter())
        self.spin(1.0)
        results = {}
        for name in names:
            arrivals = self.arrivals[name]
            times = sorted(arrivals.values())
            fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
            results[name] = ([arrivals[k] - sent_at[name][k] for k in arrivals if k in sent_at[name]], fps, index)
        return results

    def close(self) -> None:
        """Destroy the probe's node."""
        self.node.destroy_node()


def start_process(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python ARGS`` with its output in ``log``, in ``env`` (default: this process's environment)."""
    return subprocess.Popen([sys.executable, *args], stdout=open(log, 'w'), stderr=subprocess.STDOUT, env=env)


def stop_process(process: subprocess.Popen) -> None:
    """Ctrl-C, then kill after 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def usage(process: subprocess.Popen, cpu_before: float, busy_seconds: float) -> dict:
    """CPU% of ``process`` over the time its own frames were in flight, and its RSS."""
    cpu = cpu_seconds(process.pid) - cpu_before
    return {'cpu_percent': round(100 * cpu / max(busy_seconds, 1e-9)), 'rss_mb': rss_mb(process.pid)}
