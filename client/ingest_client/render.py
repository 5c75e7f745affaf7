"""What the commands print: rich tables and progress bars on a terminal, plain lines otherwise
(stdout not a terminal, or NO_COLOR set), and the API's JSON alone with ``--json``."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

# Plain transfers print a line at each of these fractions of the file.
PLAIN_STEPS = (0.25, 0.5, 0.75)


def wants_fancy_output() -> bool:
    """Bars and colours only for a person at a terminal that has not asked for NO_COLOR."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def size_text(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


class Quiet:
    """Counts nothing: the progress of a ``--json`` run."""

    def advance(self, amount: int) -> None:
        pass

    def reset(self) -> None:
        pass


class PlainTransfer:
    """A transfer as a few lines: its start, each quarter of a known size, its end."""

    def __init__(self, echo: Callable[[str], None], description: str, total: int | None) -> None:
        self._echo, self._description, self._total = echo, description, total
        self._done, self._step = 0, 0
        self._started = time.monotonic()
        echo(f"{description}: {size_text(total)}" if total else f"{description} ...")

    def advance(self, amount: int) -> None:
        self._done += amount
        while self._total and self._step < len(PLAIN_STEPS) and self._done < self._total:
            if self._done < PLAIN_STEPS[self._step] * self._total:
                break
            self._echo(f"  {PLAIN_STEPS[self._step]:.0%} ({size_text(self._done)})")
            self._step += 1

    def reset(self) -> None:
        self._done, self._step = 0, 0

    def finish(self) -> None:
        elapsed = time.monotonic() - self._started
        self._echo(f"  done: {size_text(self._done)} in {elapsed:.1f} s")


class RichTransfer:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def advance(self, amount: int) -> None:
        self._progress.advance(self._task, amount)

    def reset(self) -> None:
        self._progress.update(self._task, completed=0)


class Renderer:
    def __init__(self, as_json: bool, fancy: bool | None = None) -> None:
        self.as_json = as_json
        self.fancy = wants_fancy_output() if fancy is None else fancy
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False)
        return self._console

    # -- text -----------------------------------------------------------------------------------

    def line(self, text: str = "", style: str | None = None) -> None:
        """A line for people; nothing with --json, where stdout carries the JSON alone."""
        if self.as_json:
            return
        if self.fancy:
            self.console.print(text, style=style, markup=False, soft_wrap=True)
        else:
            click.echo(text)

    def json(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))

    @staticmethod
    def error(text: str) -> None:
        click.echo(f"error: {text}", err=True)

    @staticmethod
    def note(text: str) -> None:
        """A remark on stderr (a retry, an interruption), out of the way of the output."""
        click.echo(text, err=True)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
        cells = [["" if value is None else str(value) for value in row] for row in rows]
        if self.fancy:
            from rich.table import Table

            table = Table(*headers, title=title, title_justify="left")
            for row in cells:
                table.add_row(*row)
            self.console.print(table)
            return
        if title:
            click.echo(title)
        widths = [max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)]
        click.echo(
            "  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)).rstrip()
        )
        click.echo("  ".join("-" * width for width in widths))
        for row in cells:
            click.echo(
                "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
            )

    def record(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """Named values, one a line, aligned."""
        shown = [(name, value) for name, value in pairs if value is not None]
        width = max((len(name) for name, _ in shown), default=0)
        for name, value in shown:
            self.line(f"{name.ljust(width)}  {value}")

    # -- progress -------------------------------------------------------------------------------

    @contextmanager
    def transfer(self, description: str, total: int | None) -> Iterator[Any]:
        """Progress of bytes sent or received: a bar, or a few plain lines."""
        if self.as_json:
            yield Quiet()
            return
        if not self.fancy:
            plain = PlainTransfer(click.echo, description, total)
            yield plain
            plain.finish()
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console) as progress:
            yield RichTransfer(progress, progress.add_task(description, total=total))

    @contextmanager
    def processing(self, description: str) -> Iterator[Callable[[dict[str, Any]], None]]:
        """Progress of a request the service works on: each polled answer's status and lines."""
        if self.as_json:
            yield lambda body: None
            return
        if not self.fancy:
            last: list[str] = []

            def show(body: dict[str, Any]) -> None:
                text = f"{description}: {_progress_text(body)}"
                if not last or last[-1] != text:
                    click.echo(text)
                    last.append(text)

            yield show
            return
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(description, total=None)

            def update(body: dict[str, Any]) -> None:
                progress.update(task, description=f"{description}: {_progress_text(body)}")

            yield update


def _progress_text(body: dict[str, Any]) -> str:
    parts = [str(body.get("status"))]
    if body.get("processedLines") is not None:
        parts.append(f"{body['processedLines']:,} lines processed")
    if body.get("rowCount") is not None:
        parts.append(f"{body['rowCount']:,} rows")
    return ", ".join(parts)
