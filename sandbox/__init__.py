"""Test and demo infrastructure that imitates the internet on 127.0.0.1."""
