"""`make bench`: throughput of the ledger's write paths on SQLite and PostgreSQL.

`python -m bench` (the parent) starts a durable throw-away PostgreSQL server, then runs
`bench.suite` once per database in a child process (Django is configured once per
process), collects each child's JSON and prints the figures side by side with the
targets. See docs/performance.md.
"""

import os as _os

# The bench runs on the embedded secrets and the sandboxes: development mode, for itself and
# every process it starts (`make bench` sets it too; this covers `python -m bench`).
_os.environ.setdefault("DAOZHANG_MODE", "development")
