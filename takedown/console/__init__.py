"""The review console: a small web application where legal staff review takedown notices.

``brandhound serve`` runs it (127.0.0.1 by default). People log in (:mod:`.users`, scrypt
password hashes in ``console-users.json`` under ``BRANDHOUND_HOME``) with a role: ``analyst``
(read, triage findings), ``legal`` (also edit, approve, reject, mark and export notices) or
``admin`` (also manage users). Sessions are signed cookies with a CSRF token
(:mod:`.sessions`); every change goes through :class:`~takedown.service.TakedownService`
with the acting user as ``by`` (:mod:`.app`). ``brandhound console user add|list|remove``
manages users (:mod:`.cli`).
"""
