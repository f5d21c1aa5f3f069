"""Ingest: one HTTP stack, fetch, parse (RSS/Atom/RDF), canonical URLs."""
