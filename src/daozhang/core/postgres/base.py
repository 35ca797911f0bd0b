"""Django's PostgreSQL backend with the GROUP BY shortcut on primary keys switched off.

Django groups a query that selects a model's whole row by its primary key alone, relying
on PostgreSQL to infer the other columns from it. The tables keyed by merchant have the
database key `(merchant_id, id)` while their models keep `id` as `pk`
(`core.migration_ops.MerchantKeys`, decision 0015), so PostgreSQL can no longer infer
anything from `id` and refuses such a query ("must appear in the GROUP BY clause"). With
the shortcut off, Django names every selected column in the GROUP BY: the same result on
every table, keyed by merchant or not.
"""

from __future__ import annotations

from django.db.backends.postgresql import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    allows_group_by_selected_pks = False


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
