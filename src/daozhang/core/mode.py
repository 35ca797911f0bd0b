"""Development or production (settings.DAOZHANG_MODE, docs/operations.md#production).

Production is what a process is in unless told otherwise: the embedded secrets, the demo,
the sandbox bank and the sandbox channels are refused there by system checks
(core/checks.py, channels/checks.py). `make run`, `make test` and `make bench` set
development.
"""

from __future__ import annotations

from django.conf import settings

DEVELOPMENT = "development"
PRODUCTION = "production"
MODES = (DEVELOPMENT, PRODUCTION)


def mode() -> str:
    return str(getattr(settings, "DAOZHANG_MODE", PRODUCTION))


def is_production() -> bool:
    """True unless the mode is exactly "development": an unknown mode is treated as production."""
    return mode() != DEVELOPMENT
