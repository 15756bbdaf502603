"""Settings, security, redaction and the database engine: usable from every layer below the CLI."""
