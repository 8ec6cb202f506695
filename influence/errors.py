"""Errors whose message is one line a user can act on. The CLI prints them without a traceback."""


class InfluenceError(Exception):
    """Base class: str(error) is a single line naming what failed and why."""


class QualityGateError(InfluenceError):
    """A check of severity 'error' failed: the day is not published."""


class DbtBuildError(InfluenceError):
    """dbt build failed (a model or a dbt test)."""


class WarehouseBusyError(InfluenceError):
    """Another run holds the warehouse lock."""


class PublishError(InfluenceError):
    """The published database or its Parquet mirror could not be replaced."""


class NothingPublishedError(InfluenceError):
    """A consumer command found no published database (or not the asked-for day)."""


class RunInterruptedError(InfluenceError):
    """Ctrl-C during a task: final, like a data problem (a retry would start the task again)."""

    def __init__(self) -> None:
        super().__init__("interrupted (Ctrl-C)")


class DbtProcessKilledError(RuntimeError):
    """The dbt child process was killed by a signal (the kernel's OOM killer, an operator). Not an
    InfluenceError: nothing says the day's data is at fault, so the task is retried."""
