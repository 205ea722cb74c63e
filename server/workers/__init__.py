"""Session workers: ``lingkar serve --workers N`` runs a supervisor on the public port and N
worker processes, each hosting its share of the live sessions (docs/architecture.md)."""
