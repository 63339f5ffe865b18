"""Domain: plain frozen dataclasses and rules. No I/O, no frameworks."""
