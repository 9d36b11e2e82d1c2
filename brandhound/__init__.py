"""brandhound's shared core: configuration, brand profiles, the item schema, the Elasticsearch store and the CLI."""

__version__ = "0.1.0"
