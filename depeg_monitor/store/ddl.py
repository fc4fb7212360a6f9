"""The PostgreSQL DDL a DBA can read and apply, generated from store/schema.py.

Regenerate sql/schema.sql with: python -m depeg_monitor.store.ddl > sql/schema.sql
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from depeg_monitor.store.schema import SCHEMA_VERSION, metadata

HEADER = """\
-- depeg-monitor PostgreSQL schema, version {version}.
-- Generated from depeg_monitor/store/schema.py by `python -m depeg_monitor.store.ddl`;
-- do not edit by hand (tests/store/test_ddl.py fails on any drift).
-- Apply with: psql -v ON_ERROR_STOP=1 -d depeg -f sql/schema.sql
-- or let the program do it: depeg-monitor db upgrade

BEGIN;
"""


def _tidy(sql: str) -> str:
    # SQLAlchemy's compiler leaves tabs and trailing spaces; a DBA reads this file.
    return "\n".join(line.rstrip().replace("\t", "    ") for line in sql.strip().splitlines())


def postgres_ddl() -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    parts = [HEADER.format(version=SCHEMA_VERSION)]
    for table in metadata.sorted_tables:
        parts.append(_tidy(str(CreateTable(table).compile(dialect=dialect))) + ";")
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            parts.append(_tidy(str(CreateIndex(index).compile(dialect=dialect))) + ";")
        parts.append("")
    parts.append(
        f"INSERT INTO schema_version (version, applied_at) VALUES ({SCHEMA_VERSION}, now());"
    )
    parts.append("COMMIT;")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(postgres_ddl(), end="")
