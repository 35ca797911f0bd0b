"""The `daozhang` command: the product's commands (and Django's) under one name.

`daozhang`, `daozhang --help` or `daozhang help` list the product's own commands, one line
each, by domain; `daozhang help --all` lists Django's too; `daozhang help COMMAND` (or
`daozhang COMMAND --help`) explains one, every option with its help.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "daozhang.settings")
    from django.core.management import execute_from_command_line

    from daozhang.core.errors import DomainError

    args = sys.argv[1:]
    if args in ([], ["help"], ["--help"], ["-h"]):
        sys.stdout.write(_product_help())
        return
    if args == ["help", "--all"]:
        args = ["help"]
    try:
        execute_from_command_line(["daozhang", *args])
    except DomainError as exc:
        # A rule said no: the user gets the reason in both languages, not a traceback.
        field = f" [{exc.field}]" if exc.field else ""
        sys.stderr.write(f"error{field}: {exc.message('en')}\n错误{field}：{exc.message('zh')}\n")
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)


def _product_help() -> str:
    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    by_app: dict[str, list[tuple[str, str]]] = {}
    for name, app in sorted(get_commands().items()):
        if app.startswith("daozhang."):
            line = str(load_command_class(app, name).help).strip().splitlines()[0]
            by_app.setdefault(app.removeprefix("daozhang."), []).append((name, line))
    width = max(len(name) for rows in by_app.values() for name, _ in rows)
    out = ["daozhang 到账: the POS acquirer's back office. Usage: daozhang COMMAND [options]", ""]
    for app in sorted(by_app):
        out.append(f"{app}:")
        out += [f"  {name.ljust(width)}  {line}" for name, line in by_app[app]]
    out += ["", "daozhang help COMMAND: one command's options.  daozhang help --all: Django's commands too "
            "(migrate, createsuperuser, …)."]
    return "\n".join(out) + "\n"
