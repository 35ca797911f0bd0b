"""The `daozhang` command: Django management commands under one name.

`daozhang migrate`, `daozhang demo`, `daozhang ledger check`, `daozhang serve`,
`daozhang worker`, `daozhang calendar load FILE`, `daozhang payments import FILE`,
`daozhang sandbox outage wechat on`… (`daozhang help` lists them all).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "daozhang.settings")
    from django.core.management import execute_from_command_line

    from daozhang.core.errors import DomainError

    try:
        execute_from_command_line(["daozhang", *sys.argv[1:]])
    except DomainError as exc:
        # A rule said no: the user gets the reason in both languages, not a traceback.
        field = f" [{exc.field}]" if exc.field else ""
        sys.stderr.write(f"error{field}: {exc.message('en')}\n错误{field}：{exc.message('zh')}\n")
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)
