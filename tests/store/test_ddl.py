"""sql/schema.sql matches the models, checked against a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url

from depeg_monitor.store.db import create_engine, upgrade
from depeg_monitor.store.ddl import postgres_ddl
from depeg_monitor.store.schema import SCHEMA_VERSION

SCHEMA_SQL = Path(__file__).parents[2] / "sql" / "schema.sql"


def describe(conn: Connection) -> dict[str, Any]:
    """Tables → columns (type, nullability, default kind), indexes, foreign keys, primary key."""
    insp = inspect(conn)
    out: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default") is not None)
                for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            ),
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], str(f.get("options")))
                for f in insp.get_foreign_keys(table)
            ),
        }
    return out


def test_schema_sql_is_the_generated_ddl() -> None:
    """sql/schema.sql is exactly what the models generate (regenerate it after a change)."""
    assert SCHEMA_SQL.read_text() == postgres_ddl(), (
        "sql/schema.sql is stale: python -m depeg_monitor.store.ddl > sql/schema.sql"
    )


@pytest.mark.postgres
async def test_schema_sql_applied_by_hand_equals_db_upgrade(pg_server: Any) -> None:
    """A DBA applying sql/schema.sql gets the same tables, columns and indexes as db upgrade."""
    by_hand = pg_server.create_database("ddl_by_hand")
    by_code = pg_server.create_database("ddl_by_code")
    try:
        dsn = make_url(by_hand).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SCHEMA_SQL.read_text().encode())
        shapes = []
        for url in (by_hand, by_code):
            engine = create_engine(url)
            try:
                assert (
                    await upgrade(engine) == SCHEMA_VERSION
                )  # also a no-op on the hand-made database
                async with engine.connect() as conn:
                    shapes.append(await conn.run_sync(describe))
            finally:
                await engine.dispose()
        assert shapes[0] == shapes[1]
        assert "quotes" in shapes[0] and "schema_version" in shapes[0]
    finally:
        pg_server.drop_database("ddl_by_hand")
        pg_server.drop_database("ddl_by_code")
