"""The purge's index on `expires_at`, per database: BRIN on PostgreSQL, whose rows arrive in
expiry order, so a few pages' summary serves the purge and each request's insert costs next
to nothing (a B-tree cost an index insert on every state-changing request, the online sale
included); a B-tree on SQLite."""

from django.db import migrations

from daozhang.core.migration_ops import per_database

FORWARD = {
    "postgresql": "CREATE INDEX idempotency_expiry ON core_idempotencyrecord USING brin (expires_at)",
    "sqlite": "CREATE INDEX idempotency_expiry ON core_idempotencyrecord (expires_at)",
}


class Migration(migrations.Migration):
    dependencies = [("core", "0007_claim_function")]

    operations = [
        migrations.RemoveIndex(model_name="idempotencyrecord", name="idempotency_expiry"),
        per_database(FORWARD, dict.fromkeys(FORWARD, "DROP INDEX idempotency_expiry")),
    ]
