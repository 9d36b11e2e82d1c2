"""Scrapy item pipelines: normalise, fingerprint, detect, index."""
