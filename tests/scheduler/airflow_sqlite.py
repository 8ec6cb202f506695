"""SQLite connection arguments for the Airflow processes the scheduler test starts.

`airflow standalone` keeps its metadata in SQLite, written by the scheduler, the API server, the
DAG processor and the triggerer. On a loaded machine (the suite runs a test file per core) one of
them holds the write lock longer than SQLite's default 5 s wait, and another fails with "database
is locked" (seen on CI in `airflow backfill create`, when the test still used the CLI). Airflow
imports these through `[database] sql_alchemy_connect_args` (and `_async`).
"""

CONNECT_ARGS = {"timeout": 60}
