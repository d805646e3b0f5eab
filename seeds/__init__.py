"""Demo and real-data-derived seed inputs, and the code that builds a demo through services."""
