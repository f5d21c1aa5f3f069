"""Ingest: one HTTP stack, fetch, parse (RSS/Atom/RDF/JSON Feed), discovery, article pages, canonical URLs, language."""
