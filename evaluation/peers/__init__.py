"""Peers measured beside brandhound: re-implementations of published methods that cannot be installed from PyPI."""
