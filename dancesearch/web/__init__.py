"""The web page: an HTTP API over the same search functions as the CLI, and the built page."""
