"""History in a database: SQLite by default, PostgreSQL (psycopg 3) in production."""
