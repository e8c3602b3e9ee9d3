"""Serving: serve.json and its token, a client of the running server, and collection jobs
handed to the process that holds the collection."""
