"""The sandbox Time-Stamp Authority: real RFC 3161 tokens, signed with a certificate from the sandbox CA."""
