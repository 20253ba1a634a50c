"""``segtool soak``: the node under a long camera stream, its memory and output rate over time, camera restarts.

The node runs as a process of its own for the whole soak. The demo camera (a process too) plays generated road
scenes for one segment after another, each with its own size and encoding; between two segments it is killed
(SIGKILL, like a crashed driver) and a new camera starts at the next segment's size and encoding. A segment ends
when the soak has received its number of masks at its size, stamped after its camera started: frames through
the node, not frames sent. Every sampling period: the node's RSS, CPU and output rate. The node's /diagnostics
statuses are kept whenever their level or message changes, and the last of each at the end.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image

from seg_node.image_codec import ENCODINGS
from seg_node.publishing import output_topic
from segtool.bench.probe import cpu_seconds, rss_mb, stamp_key, start_process, stop_process

#: Distinct scenes each camera renders before it plays them in a loop.
CAMERA_SCENES = 10


class SoakError(RuntimeError):
    """The soak could not go on: the node or the camera died, or the node did not resume; the text says which."""


@dataclass(frozen=True)
class Segment:
    """One camera's stretch of the soak: frame size, encoding, and how many masks to receive from it."""

    width: int
    height: int
    encoding: str
    frames: int

    @classmethod
    def parse(cls, text: str) -> Segment:
        """Read ``WIDTHxHEIGHT:ENCODING:FRAMES``, e.g. ``640x480:rgb8:5000``."""
        try:
            size, encoding, frames = text.split(':')
            width, height = (int(v) for v in size.split('x'))
            segment = cls(width, height, encoding, int(frames))
        except ValueError:
            raise ValueError(f"segment '{text}' is not WIDTHxHEIGHT:ENCODING:FRAMES (e.g. 640x480:rgb8:5000)") from None
        if encoding not in ENCODINGS or min(width, height, segment.frames) <= 0:
            raise ValueError(f"segment '{text}': needs a positive size and count and one of {', '.join(ENCODINGS)}")
        return segment

    def describe(self) -> str:
        """Say e.g. '640x480 rgb8'."""
        return f'{self.width}x{self.height} {self.encoding}'


class Observer:
    """The soak's own node: counts masks (those of the current segment apart) and keeps /diagnostics changes."""

    def __init__(self, outputs: tuple[str, ...], start: float) -> None:
        self.node = rclpy.create_node(f'seg_soak_{os.getpid()}_{time.monotonic_ns()}')
        self.start = start
        self.masks = 0
        self.segment_masks = 0
        self.first_mask: tuple[float, int] | None = None  # (received, stamp ns) of the segment's first mask
        self.last_mask = 0.0
        self._expect: tuple[int, int, int] = (0, 0, 0)  # width, height, earliest stamp (ns)
        self.diagnostics: list[dict] = []
        self.diagnostics_seen = 0
        self.last_diagnostics: dict[str, dict] = {}
        self._last_status: dict[str, tuple] = {}
        self.node.create_subscription(Image, output_topic('mask'), self._on_mask, 10)
        for name in outputs:
            if name != 'mask':  # the node computes only what is subscribed to
                self.node.create_subscription(Image, output_topic(name), lambda message: None, 10)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)

    def begin(self, segment: Segment, since_ns: int) -> None:
        """Count from now on the masks of ``segment`` stamped at or after ``since_ns``."""
        self._expect = (segment.width, segment.height, since_ns)
        self.segment_masks = 0
        self.first_mask = None

    def _on_mask(self, message: Image) -> None:
        self.masks += 1
        width, height, since = self._expect
        if (message.width, message.height) == (width, height) and stamp_key(message) >= since:
            now = time.monotonic()
            self.segment_masks += 1
            self.last_mask = now
            if self.first_mask is None:
                self.first_mask = (now, stamp_key(message))

    def _on_diagnostics(self, message: DiagnosticArray) -> None:
        for status in message.status:
            self.diagnostics_seen += 1
            level = int.from_bytes(status.level, 'little') if isinstance(status.level, bytes) else int(status.level)
            entry = {'t': round(time.monotonic() - self.start, 1), 'name': status.name, 'level': level,
                     'message': status.message, 'values': {kv.key: kv.value for kv in status.values}}
            self.last_diagnostics[status.name] = entry
            if self._last_status.get(status.name) != (level, status.message):
                self._last_status[status.name] = (level, status.message)
                self.diagnostics.append(entry)

    def spin(self, seconds: float) -> None:
        """Handle messages for ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            rclpy.spin_once(self.node, timeout_sec=left)

    def close(self) -> None:
        """Destroy the soak's node."""
        self.node.destroy_node()


class Sampler:
    """The node's RSS, CPU% and output fps, sampled every ``period`` seconds."""

    def __init__(self, pid: int, observer: Observer, period: float) -> None:
        self.pid, self.observer, self.period = pid, observer, period
        self.samples: list[dict] = []
        self._last = (time.monotonic(), cpu_seconds(pid), observer.masks)

    def due(self) -> bool:
        """Whether a sampling period has passed."""
        return time.monotonic() - self._last[0] >= self.period

    def sample(self, segment: int) -> dict:
        """Take a sample now (during ``segment``)."""
        now, cpu, masks = time.monotonic(), cpu_seconds(self.pid), self.observer.masks
        then, cpu_then, masks_then = self._last
        elapsed = max(now - then, 1e-9)
        self._last = (now, cpu, masks)
        self.samples.append({'t': round(now - self.observer.start, 1), 'segment': segment,
                             'segment_masks': self.observer.segment_masks, 'masks': masks,
                             'rss_mb': rss_mb(self.pid), 'cpu_percent': round(100 * (cpu - cpu_then) / elapsed),
                             'fps': round((masks - masks_then) / elapsed, 1)})
        return self.samples[-1]


def soak(params: Path, segments: list[Segment], out: Path, rate: float = 30.0, period: float = 5.0,
         outputs: tuple[str, ...] = ('mask', 'overlay'), resume_timeout: float = 60.0, warmup: int = 500,
         warmup_segments: int = 0) -> dict:
    """Run the soak; its report (also when a SoakError ends it early: then under 'error')."""
    start = time.monotonic()
    rclpy.init()
    observer = Observer(outputs, start)
    node = start_process(['-m', 'seg_node.node', '--ros-args', '--params-file', str(params)], out / 'seg_node.log')
    camera = None
    report = {'params': str(params), 'rate': rate, 'outputs': list(outputs), 'node_pid': node.pid,
              'segments': [{'camera': s.describe(), **asdict(s)} for s in segments]}
    sampler = None
    try:
        _wait_for_node(observer, node, out)
        sampler = Sampler(node.pid, observer, period)
        for index, segment in enumerate(segments):
            camera = start_process(['-m', 'segtool.demo_camera', '--ros-args', '-p', f'width:={segment.width}',
                                    '-p', f'height:={segment.height}', '-p', f'encoding:={segment.encoding}',
                                    '-p', f'rate:={rate}', '-p', f'frames:={CAMERA_SCENES}', '-p', f'seed:={index}'],
                                   out / f'camera_{index}.log')
            camera_start, camera_start_ns = time.monotonic(), time.time_ns()
            report['segments'][index]['started_s'] = round(camera_start - start, 1)
            observer.begin(segment, camera_start_ns)
            while observer.segment_masks < segment.frames:
                observer.spin(0.2)
                if sampler.due():
                    sampler.sample(index)
                _check_alive(node, camera, out, index)
                waiting = observer.last_mask if observer.first_mask else camera_start
                if time.monotonic() - max(waiting, camera_start) > resume_timeout:
                    raise SoakError(f'no mask at {segment.width}x{segment.height} for {resume_timeout:.0f} s in '
                                    f'segment {index} ({segment.describe()}, after {observer.segment_masks} masks): '
                                    f'the node did not resume')
            camera.kill()  # like a crashed driver: no goodbye
            camera.wait()
            received, stamp_ns = observer.first_mask
            report['segments'][index].update({
                'masks': observer.segment_masks, 'seconds': round(time.monotonic() - camera_start, 1),
                'camera_start_to_first_masked_frame_s': round((stamp_ns - camera_start_ns) / 1e9, 2),
                'first_mask_latency_s': round(received - camera_start - (stamp_ns - camera_start_ns) / 1e9, 3),
                'rss_end_mb': sampler.sample(index)['rss_mb']})
    except SoakError as err:
        report['error'] = str(err)
    finally:
        if camera is not None and camera.poll() is None:
            camera.kill()
            camera.wait()
        stop_process(node)
        observer.close()
        rclpy.try_shutdown()
    report.update({'node_exit_code': node.returncode, 'samples': sampler.samples if sampler else [],
                   'diagnostics_seen': observer.diagnostics_seen, 'diagnostics': observer.diagnostics,
                   'last_diagnostics': list(observer.last_diagnostics.values())})
    report['summary'] = summarize(report, warmup, warmup_segments)
    (out / 'soak.json').write_text(json.dumps(report, indent=2) + '\n')
    return report


def _wait_for_node(observer: Observer, node, out: Path, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while observer.node.count_publishers(f"/{output_topic('mask')}") == 0:
        if node.poll() is not None or time.monotonic() > end:
            raise SoakError(f'seg_node did not start: {(out / "seg_node.log").read_text()[-2000:]}')
        observer.spin(0.1)


def _check_alive(node, camera, out: Path, index: int) -> None:
    if node.poll() is not None:
        raise SoakError(f'seg_node exited with {node.returncode} in segment {index}: '
                        f'{(out / "seg_node.log").read_text()[-2000:]}')
    if camera.poll() is not None:
        raise SoakError(f'the camera exited with {camera.returncode} in segment {index}: '
                        f'{(out / f"camera_{index}.log").read_text()[-2000:]}')


def summarize(report: dict, warmup: int, warmup_segments: int = 0) -> dict:
    """Masks per camera size; the node's RSS after warm-up and at the end, overall and within each segment.

    Overall, warm-up is the first ``warmup_segments`` segments (e.g. one of each frame size: a new size brings
    buffers of a new size, kept once) and the first ``warmup`` masks of the next; within a segment, its own first
    ``warmup`` masks, where the segment is long enough to tell. The growth after warm-up is also given less its
    largest rise between two samples (``rss_steady_growth_mb``): a leak keeps growing from sample to sample, a
    buffer allocated once and kept is one step.
    """
    samples = report['samples']
    frames: dict[str, int] = {}
    for index, segment in enumerate(report['segments']):
        size = f"{segment['width']}x{segment['height']}"
        frames[size] = frames.get(size, 0) + segment.get('masks', 0)
        past = [s for s in samples if s['segment'] == index and s['segment_masks'] >= warmup]
        if len(past) > 1:
            segment['rss_growth_after_warmup_mb'] = round(past[-1]['rss_mb'] - past[0]['rss_mb'], 1)
    summary = {'masks_by_size': frames}
    first = next((i for i, s in enumerate(samples) if s['segment'] > warmup_segments
                  or (s['segment'] == warmup_segments and s['segment_masks'] >= warmup)), None)
    if first is not None:
        after, end = samples[first], samples[-1]
        growth = end['rss_mb'] - after['rss_mb']
        rises = [b['rss_mb'] - a['rss_mb'] for a, b in zip(samples[first:], samples[first + 1:])]
        step = max([0.0, *rises])
        summary.update({'warmup_segments': warmup_segments, 'warmup_masks': warmup,
                        'rss_after_warmup_mb': after['rss_mb'], 'rss_end_mb': end['rss_mb'],
                        'rss_growth_after_warmup_mb': round(growth, 1),
                        'rss_largest_step_mb': round(step, 1), 'rss_steady_growth_mb': round(growth - step, 1),
                        'rss_samples_after_warmup': len(samples) - first,
                        'rss_max_mb': max(s['rss_mb'] for s in samples),
                        'masks_after_warmup': end['masks'] - after['masks']})
    return summary


#: Samples after the warm-up needed to tell steady growth from one step: two rises at least.
MIN_JUDGED_SAMPLES = 3


def rss_verdict(summary: dict, goal_mb: float) -> str | None:
    """Say why the node's RSS fails ``goal_mb`` (growth after warm-up, less one step); None when it meets it."""
    judged = summary.get('rss_samples_after_warmup', 0)
    if judged < MIN_JUDGED_SAMPLES:
        return (f'RSS not judged: {judged} samples after the warm-up, {MIN_JUDGED_SAMPLES} needed (a longer soak, '
                f'a shorter --sample-every or less warm-up)')
    if summary['rss_steady_growth_mb'] > goal_mb:
        return (f"RSS grew {summary['rss_growth_after_warmup_mb']} MB after the warm-up, "
                f"{summary['rss_steady_growth_mb']} MB of it besides its largest step "
                f"({summary['rss_largest_step_mb']} MB) (goal: under {goal_mb} MB)")
    return None


def plot(report: dict, path: Path) -> None:
    """Draw RSS and output fps over time, a line where each camera started."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    samples = report['samples']
    times = [s['t'] for s in samples]
    figure, (memory, rate) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    memory.plot(times, [s['rss_mb'] for s in samples], color='#4a7fb5')
    memory.set_ylabel('node RSS (MB)')
    rate.plot(times, [s['fps'] for s in samples], color='#d9822b')
    rate.set_ylabel('masks per second')
    rate.set_xlabel('seconds since the soak started')
    for segment in report['segments']:
        if 'started_s' in segment:
            for axis in (memory, rate):
                axis.axvline(segment['started_s'], color='grey', linestyle='--', linewidth=0.8)
            rate.annotate(segment['camera'], (segment['started_s'], 0),
                          textcoords='offset points', xytext=(3, 3), fontsize=8)
    summary = report['summary']
    growth = summary.get('rss_growth_after_warmup_mb')
    memory.set_title(f"seg_node soak: {sum(summary['masks_by_size'].values())} masks, "
                     f"RSS growth after warm-up {growth} MB" if growth is not None else 'seg_node soak')
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
