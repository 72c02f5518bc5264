"""Django's SQLite backend with fair writers (``base.DatabaseWrapper``)."""
