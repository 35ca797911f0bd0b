"""Issue 11 item 5: the sandbox bank's tables kept account numbers (a personal account is a
debit card number) in clear. Existing rows get the keyed hash and the masked form the
models now keep (channels.models.account_digest / masked_account, frozen here), then the
clear column is dropped."""

import hashlib
import hmac

from django.conf import settings
from django.db import migrations, models


def _digest(number: str) -> str:
    return hmac.new(settings.PAN_TOKEN_KEY.encode(), b"bank-account:" + number.encode(), hashlib.sha256).hexdigest()


def _masked(number: str) -> str:
    return f"{number[:4]} **** {number[-4:]}" if len(number) > 8 else "****"


def hash_numbers(apps, schema_editor):  # type: ignore[no-untyped-def]
    for name in ("SandboxBankAccount", "SandboxBankTransfer"):
        model = apps.get_model("channels", name)
        for row in model.objects.all().only("id", "account_number"):
            model.objects.filter(id=row.id).update(account_hash=_digest(row.account_number),
                                                   account_masked=_masked(row.account_number))


class Migration(migrations.Migration):

    dependencies = [
        ("channels", "0002_sandboxbankaccount_sandboxbanktransfer"),
    ]

    operations = [
        migrations.AddField("sandboxbankaccount", "account_hash", models.CharField(max_length=64, default="")),
        migrations.AddField("sandboxbankaccount", "account_masked", models.CharField(max_length=40, default="")),
        migrations.AddField("sandboxbanktransfer", "account_hash", models.CharField(max_length=64, default="")),
        migrations.AddField("sandboxbanktransfer", "account_masked", models.CharField(max_length=40, default="")),
        migrations.RunPython(hash_numbers, migrations.RunPython.noop),
        migrations.RemoveField("sandboxbankaccount", "account_number"),
        migrations.RemoveField("sandboxbanktransfer", "account_number"),
        migrations.AlterField("sandboxbankaccount", "account_hash", models.CharField(max_length=64, unique=True)),
        migrations.AlterField("sandboxbankaccount", "account_masked", models.CharField(max_length=40)),
        migrations.AlterField("sandboxbanktransfer", "account_hash", models.CharField(max_length=64)),
        migrations.AlterField("sandboxbanktransfer", "account_masked", models.CharField(max_length=40)),
    ]
