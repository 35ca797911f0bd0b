"""`daozhang rotate_field_keys`: re-encrypt every encrypted value under the first key of
DAOZHANG_FIELD_KEYS, so an old key can then be dropped. Safe to run again.

Every column of every model declared as an `EncryptedCharField` is rotated (found through
the app registry, so a table that starts encrypting a column is rotated without a change
here). Raw SQL, by primary key, a table at a time, each in one transaction. A value no
listed key decrypts is left as it is and named; the command then exits non-zero.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from daozhang.core.crypto import EncryptedCharField, rotate


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (settlement account numbers, …) under the newest field key."

    def handle(self, *args: Any, **options: Any) -> None:
        total, unreadable = 0, []
        q = connection.ops.quote_name
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, EncryptedCharField):
                    continue
                table, column, pk = model._meta.db_table, field.column, model._meta.pk.column
                # A merchant's row is updated by (merchant_id, id): one shard's row on a
                # database distributed by merchant (docs/operations.md "Scaling out").
                keys = [pk]
                if any(f.column == "merchant_id" for f in model._meta.concrete_fields):
                    keys = ["merchant_id", pk]
                where = " AND ".join(f"{q(k)} = %s" for k in keys)
                with transaction.atomic(), connection.cursor() as cur:
                    cur.execute(f"SELECT {', '.join(q(k) for k in keys)}, {q(column)} FROM {q(table)} "  # noqa: S608
                                f"WHERE {q(column)} IS NOT NULL AND {q(column)} <> ''")
                    rows = []
                    for *key, token in cur.fetchall():
                        try:
                            rows.append((rotate(token), *key))
                        except InvalidToken:
                            unreadable.append(f"{table}.{column} {pk}={key[-1]}")
                    cur.executemany(f"UPDATE {q(table)} SET {q(column)} = %s WHERE {where}", rows)  # noqa: S608
                total += len(rows)
                self.stdout.write(f"{table}.{column}: re-encrypted {len(rows)} values under the newest key")
        self.stdout.write(f"re-encrypted {total} values")
        if unreadable:
            for where in unreadable:
                self.stderr.write(f"not readable with any key in DAOZHANG_FIELD_KEYS: {where}")
            raise CommandError(f"{len(unreadable)} values are readable with none of the keys: add the key they were "
                               "encrypted under to DAOZHANG_FIELD_KEYS (after the new one) and run this again "
                               "/ 有数据无法用任何密钥解密：请把原密钥加回 DAOZHANG_FIELD_KEYS 后重新运行")
