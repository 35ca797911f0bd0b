"""Settlement bank account numbers: encrypted at rest (core/crypto.py).

The column becomes text (a Fernet token is ~120 characters) and every number already
stored in clear is encrypted in place, through raw SQL so no clear value is read back
through the new field.
"""

import daozhang.core.crypto
from django.db import migrations


def encrypt_existing(apps, schema_editor):
    from daozhang.core.crypto import encrypt, is_token

    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT id, account_number FROM merchants_settlementaccount")
        rows = [(rid, number) for rid, number in cur.fetchall() if number and not is_token(number)]
        cur.executemany("UPDATE merchants_settlementaccount SET account_number = %s WHERE id = %s",
                        [(encrypt(number), rid) for rid, number in rows])


class Migration(migrations.Migration):

    dependencies = [
        ('merchants', '0002_settlementaccount_rejected_at_and_more'),
    ]

    operations = [
        migrations.AlterField(
            model_name='settlementaccount',
            name='account_number',
            field=daozhang.core.crypto.EncryptedCharField(),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]
