"""Create or drop a throwaway PostgreSQL database.

Usage: python .ci/pgdb.py create|drop SERVER_URL NAME
"""

import asyncio
import sys

import asyncpg


async def main(action: str, server: str, name: str) -> None:
    conn = await asyncpg.connect(f"{server}/postgres", timeout=10)
    try:
        if action == "create":
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
