"""The WSGI application, for `daozhang serve` (gunicorn) or any WSGI server.

A management command runs the system checks before it starts; a bare WSGI server would
not, so the application runs them itself and refuses to load on an Error (in production: a
default, derived or missing secret, the sandbox bank, … core/checks.py).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "daozhang.settings")
application = get_wsgi_application()

from daozhang.core.checks import refuse_to_start_if_unsafe  # noqa: E402 - after Django is set up

refuse_to_start_if_unsafe()
