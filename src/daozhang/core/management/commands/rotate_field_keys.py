"""`daozhang rotate_field_keys`: re-encrypt every encrypted value under the first key of
DAOZHANG_FIELD_KEYS, so an old key can then be dropped. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from daozhang.core.crypto import rotate


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (settlement account numbers) under the newest field key."

    def handle(self, *args: Any, **options: Any) -> None:
        from django.db import connection

        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT id, account_number FROM merchants_settlementaccount")
            rows = [(rotate(token), rid) for rid, token in cur.fetchall() if token]
            cur.executemany("UPDATE merchants_settlementaccount SET account_number = %s WHERE id = %s", rows)
        self.stdout.write(f"re-encrypted {len(rows)} settlement account numbers under the newest key")
