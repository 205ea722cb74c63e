"""The database: the engine, the tables and their migrations."""
