"""The one error an extractor raises when a whole input is unusable."""

from __future__ import annotations

from pathlib import Path

from influence.errors import InfluenceError


class SourceError(InfluenceError):
    """A source file cannot be used at all (missing, empty, truncated, not well-formed, wrong
    header). ``str()`` is one line naming the file and the problem, so the CLI and the Airflow task
    log can show it without a traceback. Row-level problems never raise: they are quarantined."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        # Messages from zlib/expat can contain newlines; the contract is one line.
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.path}: {self.problem}")
