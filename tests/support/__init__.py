"""The tests' own infrastructure: paths of the example data, and the fixtures the root conftest registers as plugins."""
