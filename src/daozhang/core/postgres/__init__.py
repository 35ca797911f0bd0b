"""Django's PostgreSQL backend, with one feature changed (base.DatabaseFeatures)."""
