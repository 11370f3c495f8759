"""Storage: settings, database engine, tables, migrations and secrets."""
