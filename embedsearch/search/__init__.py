"""Stage 5: a query -> ranked Hits."""
