"""Progress bars for long CLI work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def event_progress() -> Progress:
    """A bar that counts events: ``description ━━━━ 12,000/300,000 4% 0:00:03 0:01:10``."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


class StageProgress(Protocol):
    """Told how far a stage of long work is: ``(task, done, total)``."""

    def __call__(self, task: str, done: int, total: int | None) -> None: ...


def task_bars(progress: Progress, title: Callable[[str], str]) -> StageProgress:
    """A ``(task, done, total)`` callback that shows each task as a bar of its own, titled
    ``title(task)`` (the training pipeline reports its stages this way)."""
    bars: dict[str, TaskID] = {}

    def report(task: str, done: int, total: int | None) -> None:
        if task not in bars:
            bars[task] = progress.add_task(title(task), total=total)
        progress.update(bars[task], completed=done, total=total)

    return report


def training_stage(task: str) -> str:
    """The bar title of a stage of the risk training pipeline."""
    return "final model" if task == "final model" else f"cross-validating {task}"


def table_stage(task: str) -> str:
    """The bar title of a stage of building the twin's training table."""
    return "folding the log" if task == "events" else "building rows"
