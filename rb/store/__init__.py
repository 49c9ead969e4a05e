"""The execution store: every run, step and exchange, in SQLite or PostgreSQL.

`tables` defines the schema, `database` opens and migrates a store,
`recorder` writes a run as it happens, `queries` reads runs back.
"""
