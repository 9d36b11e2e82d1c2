"""Certificate-transparency logs on 127.0.0.1: an RFC 6962 log and a static-ct (tiled) log of sandbox certificates."""
