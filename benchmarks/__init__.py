"""Benchmarks for cxplan: a seeded scenario generator (`generate`) and the runner (`bench`)."""
