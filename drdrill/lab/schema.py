"""The lab's database schema and product catalogue (see the lab contract)."""

from __future__ import annotations

__all__ = ["SCHEMA", "seed_sql"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
  id int PRIMARY KEY, name text NOT NULL, price_cents int NOT NULL, stock int NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  id text PRIMARY KEY,
  client text NOT NULL DEFAULT '',
  seq bigint,
  product_id int NOT NULL REFERENCES products(id),
  quantity int NOT NULL DEFAULT 1,
  status text NOT NULL DEFAULT 'placed',
  total_cents int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp());
"""


def seed_sql(products: int) -> str:
    """SQL that fills the product catalogue with ``products`` items."""
    return (
        "INSERT INTO products (id, name, price_cents, stock) "
        f"SELECT i, 'product-' || i, 100 + (i * 37) % 9900, 1000000 "
        f"FROM generate_series(1, {int(products)}) AS i ON CONFLICT (id) DO NOTHING"
    )
