"""The backend: users, API keys, service accounts, settings and migrations."""
