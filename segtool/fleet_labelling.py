"""Labelling many inputs (``segtool label IN... -o OUT_DIR``): each into its own output, here or on a Ray cluster.

Every input takes :meth:`segtool.labelling.Labeller.label`, the single-input labeller, in a process that built
the node's pipeline once from the same parameters, so its output is byte for byte what ``segtool label IN -o OUT``
writes. An input is labelled into ``OUT_DIR/.partial/<name>`` and moved to ``OUT_DIR/<name>`` once labelled
without error: an output at its final name is finished, and a re-run skips it. An input that fails (missing,
unreadable, frames that cannot be decoded, a damaged bag, a worker that died) is reported with its reason while
the others go on; what it labelled stays in the partial folder, and a re-run labels it again. On Ray, each input
is one task (``num_cpus`` per worker; ONNX Runtime gets as many threads unless ``num_threads`` is set), at most
``workers`` at a time; Ray schedules them over the cluster's nodes.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from segtool.labelling import LabelError, default_output, prepare_output

PARTIAL = '.partial'
#: Outcome states: labelled now, labelled by an earlier run (skipped), or failed with a reason.
DONE, EARLIER, FAILED = 'labelled', 'already labelled', 'failed'


@dataclass(frozen=True)
class LabelSettings:
    """What every input is labelled with: the node's parameters, the outputs asked for, the bag topics chosen."""

    overrides: dict
    outputs: tuple[str, ...] | None = None  # None: mask for bags, mask and overlay for folders and videos
    topics: tuple[str, ...] = ()

    def key(self) -> str:
        """Identify the pipeline these settings build (parameters only)."""
        return json.dumps(self.overrides, sort_keys=True, default=str)


@dataclass
class Outcome:
    """One input's result: where it went, its state, frames, seconds, notes and what went wrong."""

    source: str
    out: str
    state: str
    frames: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def output_names(sources: Iterable[Path], out_dir: Path) -> dict[Path, Path]:
    """Map each input to ``OUT_DIR/<name>_labelled``; LabelError where two inputs would share an output."""
    names: dict[Path, Path] = {}
    taken: dict[str, Path] = {}
    for source in sources:
        name = default_output(source).name
        if name in taken:
            raise LabelError(f'{taken[name]} and {source} would both be labelled into {out_dir / name}: '
                             'rename one or label them apart')
        taken[name] = source
        names[source] = out_dir / name
    return names


_PIPELINES: dict[str, tuple] = {}  # per process: settings key -> (pipeline, values); a Ray worker keeps its own


def _pipeline(settings: LabelSettings) -> tuple:
    """Build the node's pipeline for ``settings`` once per process."""
    from segtool.node_params import node_pipeline

    if settings.key() not in _PIPELINES:
        _PIPELINES[settings.key()] = node_pipeline(settings.overrides)
    return _PIPELINES[settings.key()]


def label_input(settings: LabelSettings, source: str, out: str) -> Outcome:
    """Label one input into ``out`` by way of its partial folder; any fault comes back as a failed Outcome."""
    from seg_node.inference import ModelError
    from seg_node.model_metadata import MetadataError
    from seg_node.params import ParamError
    from seg_node.pipeline import OUTPUT_NAMES, FrameSettings, Outputs
    from segtool.bags import BagError, is_bag
    from segtool.labelling import Labeller

    final = Path(out)
    partial = final.parent / PARTIAL / final.name
    try:
        partial.parent.mkdir(parents=True, exist_ok=True)
        prepare_output(Path(source), partial, overwrite=True)  # a killed run's leftover goes
        pipeline, values = _pipeline(settings)
        outputs = settings.outputs or (('mask',) if is_bag(Path(source)) else ('mask', 'overlay'))
        want = Outputs(**{name: name in outputs for name in OUTPUT_NAMES})
        report = Labeller(pipeline, FrameSettings.from_values(values), want).label(Path(source), partial,
                                                                                   settings.topics)
    except (LabelError, BagError, ParamError, ModelError, MetadataError, OSError) as err:
        return Outcome(source, out, FAILED, errors=[str(err)])
    except Exception as err:  # an input must not end the others' labelling: any fault is its outcome
        return Outcome(source, out, FAILED, errors=[f'{type(err).__name__}: {err}'])
    errors = report.errors(partial)
    if errors:  # what it labelled (a damaged bag's frames before the damage) stays in the partial folder
        return Outcome(source, str(partial), FAILED, report.frames, report.seconds, report.notes, errors)
    partial.rename(final)
    return Outcome(source, out, DONE, report.frames, report.seconds, report.notes)


class FleetLabelling:
    """The inputs of one ``segtool label IN... -o OUT_DIR`` run, what is left to do, and the outcomes."""

    def __init__(self, sources: list[Path], out_dir: Path, settings: LabelSettings, overwrite: bool) -> None:
        self.settings, self.out_dir = settings, Path(out_dir)
        self.outcomes: list[Outcome] = []
        self.seconds = 0.0  # from the first input handed out to the last outcome (a Ray start not included)
        self.todo: list[tuple[str, str]] = []
        for source, out in output_names([Path(s).absolute() for s in sources], self.out_dir.absolute()).items():
            try:
                if (out.exists() or out.is_symlink()) and not overwrite:
                    self.outcomes.append(Outcome(str(source), str(out), EARLIER))
                    continue
                prepare_output(source, out, overwrite)
            except LabelError as err:
                self.outcomes.append(Outcome(str(source), str(out), FAILED, errors=[str(err)]))
                continue
            self.todo.append((str(source), str(out)))

    def run_here(self) -> None:
        """Label what is left one input after another in this process."""
        with ProgressView(self) as record:
            for source, out in self.todo:
                record(label_input(self.settings, source, out))

    def run_on_ray(self, address: str | None, workers: int | None, worker_cpus: float, worker_gpus: float) -> None:
        """Label what is left on a Ray cluster (a local one when ``address`` is None), at most ``workers`` at once."""
        import ray

        started = bool(self.todo) and not ray.is_initialized()
        if started:
            start_ray(address, workers * worker_cpus if workers and address is None else None)
        try:
            with ProgressView(self) as record:
                if self.todo:
                    workers = workers or max(1, int(ray.cluster_resources().get('CPU', 1) // worker_cpus))
                    task = ray.remote(label_input).options(num_cpus=worker_cpus, num_gpus=worker_gpus, max_retries=1)
                    self._ray_tasks(record, workers, task, max(1, int(worker_cpus)))
        finally:
            if started:
                ray.shutdown()

    def _ray_tasks(self, record: Callable[[Outcome], None], workers: int, task, threads: int) -> None:
        """Keep ``workers`` inputs in flight as Ray tasks and record each outcome as it comes."""
        import ray

        settings = self.settings
        if not settings.overrides.get('num_threads'):  # each task's ONNX Runtime threads on the CPUs Ray gave it
            settings = LabelSettings({**settings.overrides, 'num_threads': threads}, settings.outputs, settings.topics)
        queue, running = list(self.todo), {}
        while queue or running:
            while queue and len(running) < workers:
                source, out = queue.pop(0)
                running[task.remote(settings, source, out)] = (source, out)
            ready = []
            while not ready:  # in short waits: Ctrl-C is not seen during a wait
                ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            ready = ready[0]
            source, out = running.pop(ready)
            try:
                record(ray.get(ready))
            except ray.exceptions.RayError as err:  # the worker died, or Ray lost the task
                reason = str(err).strip().splitlines()[0]
                record(Outcome(source, out, FAILED, errors=[f'{type(err).__name__}: {reason}']))

    def tidy(self) -> None:
        """Remove the partial folder once nothing is left in it."""
        partial = self.out_dir / PARTIAL
        if partial.is_dir() and not any(partial.iterdir()):
            partial.rmdir()

    def summary(self) -> str:
        """One line: how many inputs were labelled, skipped as labelled before, failed; frames."""
        count = {state: sum(o.state == state for o in self.outcomes) for state in (DONE, EARLIER, FAILED)}
        frames = sum(o.frames for o in self.outcomes)
        return (f'label: {len(self.outcomes)} inputs -> {self.out_dir}: {count[DONE]} labelled ({frames} frames), '
                f'{count[EARLIER]} already labelled, {count[FAILED]} failed; {self.seconds:.1f} s '
                f'({frames / max(self.seconds, 1e-9):.1f} frames/s)')

    def failed(self) -> list[Outcome]:
        """Return the outcomes that failed."""
        return [o for o in self.outcomes if o.state == FAILED]


class ProgressView:
    """One progress bar over a run's inputs (frames and failures beside it) and a line per input as it ends."""

    def __init__(self, fleet: FleetLabelling) -> None:
        self.fleet, self.frames, self.started = fleet, 0, time.perf_counter()
        self.bar = tqdm(total=len(fleet.todo), unit='input', desc='label', disable=None, dynamic_ncols=True)
        for outcome in fleet.outcomes:  # decided before any labelling: labelled earlier, or refused
            self.bar.write(describe(outcome), file=sys.stdout)

    def __enter__(self) -> Callable[[Outcome], None]:
        return self.record

    def record(self, outcome: Outcome) -> None:
        """Keep ``outcome`` and show it."""
        self.fleet.outcomes.append(outcome)
        self.frames += outcome.frames
        self.bar.update()
        self.bar.set_postfix(frames=self.frames, failed=len(self.fleet.failed()))
        self.bar.write(describe(outcome), file=sys.stdout)

    def __exit__(self, *exc) -> None:
        self.bar.close()
        self.fleet.seconds = time.perf_counter() - self.started
        self.fleet.tidy()


def describe(outcome: Outcome) -> str:
    """One line (and a line per note) telling what became of an input."""
    if outcome.state == EARLIER:
        return f'  {outcome.source}: already labelled in {outcome.out} (skipped; --overwrite labels it again)'
    if outcome.state == FAILED and not outcome.frames:
        return f'  {outcome.source}: failed: {"; ".join(outcome.errors)}'
    rate = outcome.frames / outcome.seconds if outcome.seconds else 0.0
    head = f'  {outcome.source}: {outcome.state}, {outcome.frames} frames ({rate:.1f} frames/s) -> {outcome.out}'
    if outcome.errors:
        head += f'; error: {"; ".join(outcome.errors)}'
    return '\n'.join([head, *(f'    note: {note}' for note in outcome.notes)])


def start_ray(address: str | None, num_cpus: float | None) -> None:
    """Connect to the Ray cluster at ``address``, or start a local one on this machine only (no dashboard).

    A local cluster binds to 127.0.0.1, sends no usage statistics, and runs its workers at this process's
    priority: Ray would lower it (nice +15), which on a busy machine starves them beside everything else.
    """
    import ray

    if address is None:
        os.environ.setdefault('RAY_USAGE_STATS_ENABLED', '0')
        os.environ.setdefault('RAY_worker_niceness', '0')
        ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address='127.0.0.1', configure_logging=False)
    else:
        ray.init(address=address)
