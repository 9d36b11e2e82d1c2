"""Downloader middlewares: where requests may go, and through which egress."""
