"""The `daozhang` command: Django management commands under one name.

`daozhang migrate`, `daozhang demo`, `daozhang ledger check`, `daozhang serve`,
`daozhang worker`, `daozhang sandbox outage wechat on`… (`daozhang help` lists them all).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "daozhang.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["daozhang", *sys.argv[1:]])


if __name__ == "__main__":
    main()
