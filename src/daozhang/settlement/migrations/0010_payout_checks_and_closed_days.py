"""Payout attempts that were stopped before sending (issue 11, item 3), and the settlement
dates a run has closed (item 8), with PostgreSQL's stamping function.

`daozhang_open_settlement_date(cycle, wanted)`: the settlement date money booked now is
stamped with, taken inside the booking's transaction. It first holds the date's lock in
shared mode until the booking commits (a run closing the date takes it exclusively, so it
waits for every booking of that date in flight), then reads the closed days with a
snapshot of its own, taken after the lock (VOLATILE PL/pgSQL, as `daozhang_claim`): a date
closed while it waited is seen, and the next open one is returned.
"""

from django.db import migrations, models

from daozhang.core.migration_ops import postgres_sql

FORWARD = """
CREATE OR REPLACE FUNCTION daozhang_settlement_day_key(c text, d date) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (d - date '2000-01-01') * 4 + CASE c WHEN 'T1' THEN 0 WHEN 'D0' THEN 1 ELSE 3 END
$$;
CREATE OR REPLACE FUNCTION daozhang_open_settlement_date(c text, wanted date) RETURNS date
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  last_closed date;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(1146704708, daozhang_settlement_day_key(c, wanted));
  SELECT max(day) INTO last_closed FROM settlement_closedday WHERE cycle = c AND day >= wanted;
  RETURN COALESCE(last_closed + 1, wanted);
END
$$;
"""
BACKWARD = """
DROP FUNCTION IF EXISTS daozhang_open_settlement_date(text, date);
DROP FUNCTION IF EXISTS daozhang_settlement_day_key(text, date);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('settlement', '0009_adjustment_approval'),
    ]

    operations = [
        migrations.AddField(
            model_name='payout',
            name='stop_detail',
            field=models.CharField(blank=True, default='', max_length=300),
        ),
        migrations.AddField(
            model_name='payout',
            name='stop_reason',
            field=models.CharField(blank=True, default='', max_length=40),
        ),
        migrations.AddField(
            model_name='payout',
            name='stopped_by',
            field=models.CharField(blank=True, default='', max_length=120),
        ),
        migrations.AlterField(
            model_name='payout',
            name='status',
            field=models.CharField(choices=[('submitting', 'Submitting 提交中'), ('sending', 'Being sent to the bank 正在发送银行'), ('accepted', 'Accepted by bank 银行处理中'), ('retrying', 'Bank unavailable, retrying 银行故障重试中'), ('paid', 'Paid 已到账'), ('returned', 'Returned 已退回'), ('stopped', 'Stopped before sending 已拦截，未发送')], max_length=12),
        ),
        migrations.CreateModel(
            name='ClosedDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('cycle', models.CharField(max_length=2)),
                ('day', models.DateField()),
                ('closed_at', models.DateTimeField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('cycle', 'day'), name='closed_day_once')],
            },
        ),
        postgres_sql(FORWARD, BACKWARD),
    ]
