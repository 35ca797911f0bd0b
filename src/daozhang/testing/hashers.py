"""A password hasher for the test suite only: Django's PBKDF2 at one iteration.

Django's default (PBKDF2-SHA256, 1,000,000 iterations) takes about a second per password
on a small machine, and the suite makes and checks passwords for hundreds of users. The
hashes this one makes are ordinary `pbkdf2_sha256$1$…` strings, so a child process with
the real settings (`daozhang serve`, the worker) still checks them. tests/conftest.py puts
it first in PASSWORD_HASHERS; production never sees it.
"""

from __future__ import annotations

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class OneIterationPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
