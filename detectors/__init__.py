"""Detectors that turn crawled items into scored, explained findings."""
