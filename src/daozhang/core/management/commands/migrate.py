"""`daozhang migrate`: Django's migrate, run as the tables' owner when one is configured.

With DAOZHANG_DATABASE_OWNER_URL set (PostgreSQL), the migrations connect as that role,
so it owns every table, and the application role (DATABASE_URL) is then granted its rights
(core.dbroles). Without it, migrate runs as DATABASE_URL's role, as Django's does.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from daozhang.core.dbroles import as_owner


class Command(DjangoMigrate):
    def handle(self, *args: Any, **options: Any) -> None:
        with as_owner(connections[options["database"]]):
            super().handle(*args, **options)
