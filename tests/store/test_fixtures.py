"""The shared database fixtures give real, usable databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine


async def test_db_url_is_a_working_empty_database(db_url: str) -> None:
    """Each db_url is a real database that accepts a table and gives back its row."""
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (42)"))
            assert (await conn.execute(text("SELECT x FROM t"))).scalar_one() == 42
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_pg_control_stops_and_starts_the_server(pg_url: str, pg_control: Any) -> None:
    """While stopped the server refuses connections; after start it answers again."""
    pg_control.stop()
    engine = create_async_engine(pg_url)
    try:
        with pytest.raises(OperationalError, match=r"(?i)connect"):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        pg_control.start()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
