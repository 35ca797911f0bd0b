"""Settings for the benchmark processes: the product's settings, plus django-hordak on PostgreSQL.

django-hordak is the comparison baseline for the online path. It supports PostgreSQL (and
MySQL) only, so its apps (`mptt`, `hordak`, as in hordak's example project) are added
only when DATABASE_URL points at PostgreSQL. The HTTP server the bench starts runs with
the product's own `daozhang.settings`; the hordak tables in its database are inert there.
"""

from __future__ import annotations

from daozhang.settings import *  # noqa: F403
from daozhang.settings import DATABASES, INSTALLED_APPS

HORDAK = "postgres" in DATABASES["default"]["ENGINE"]  # Django's backend or daozhang.core.postgres
if HORDAK:
    INSTALLED_APPS = [*INSTALLED_APPS, "mptt", "hordak"]
    # Hordak accounts and legs carry a currency; ours are CNY.
    DEFAULT_CURRENCY = "CNY"
    HORDAK_INTERNAL_CURRENCY = "CNY"
    CURRENCIES = ["CNY"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
