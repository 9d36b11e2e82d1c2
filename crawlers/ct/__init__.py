"""Certificate-transparency monitoring: log lists, RFC 6962 and static-ct (tiled) logs, entries and their names."""
