"""Benchmarks for rxclaude: a seeded stream-json corpus generator and a throughput/RSS runner."""
