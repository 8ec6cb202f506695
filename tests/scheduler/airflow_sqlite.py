"""SQLite connection arguments for the Airflow processes the scheduler test starts.

`airflow standalone` keeps its metadata in SQLite, written by the scheduler, the API server, the
DAG processor, the triggerer and the test's own CLI calls. On a loaded machine (the suite runs a
test file per core) one of them holds the write lock longer than SQLite's default 5 s wait, and the
CLI call fails with "database is locked". Airflow imports these through
`[database] sql_alchemy_connect_args` (and `_async`).
"""

CONNECT_ARGS = {"timeout": 60}
