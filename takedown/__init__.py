"""Takedown notices drafted from confirmed findings."""
