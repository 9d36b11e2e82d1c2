"""Takedown notices drafted from confirmed findings, reviewed by legal staff, exported with evidence.

Modules, each doing one thing:

- :mod:`takedown.service`: :class:`~takedown.service.TakedownService`, the API the CLI and the
  review console call (draft, list, get, edit, approve, reject, mark, export) over the
  Elasticsearch ``takedowns`` index;
- :mod:`takedown.lifecycle`: statuses, allowed transitions, :class:`~takedown.lifecycle.TakedownError`;
- :mod:`takedown.recipients`: who receives a finding's notices (marketplace, registrar, host,
  search engines, law enforcement, internal) and in which language; :mod:`takedown.hosting`
  finds hosting providers over RDAP ``ip`` queries;
- :mod:`takedown.drafting`: findings grouped per recipient and campaign into rendered drafts;
- :mod:`takedown.render` with ``templates/`` and ``i18n/``: the notice text and HTML letter;
  :mod:`takedown.reports`: the recipients' form data; :mod:`takedown.text`: untrusted text made inert;
- :mod:`takedown.export` and :mod:`takedown.bundle`: .eml, PDF, CSV, ZIP, manifests, verification;
- :mod:`takedown.legal`: the elements DMCA 512(c)(3), DSA Art. 16(2) and ICANN RAA 3.18 require, checked
  before approval; :mod:`takedown.security_txt`: a site's RFC 9116 ``security.txt`` as a contact source;
- :mod:`takedown.timestamping`: RFC 3161 time-stamp requests and token verification for bundle manifests;
- :mod:`takedown.recheck` over :mod:`takedown.refetch`: sent notices' URLs re-fetched, removal decided on
  clear signals seen twice; :mod:`takedown.reups`: removed content that comes back re-opens its case;
- :mod:`takedown.triage`: confirming and dismissing findings (its commands: :mod:`brandhound.commands.takedown`).

Sample findings with evidence for demos and tests are test infrastructure: :mod:`sandbox.takedown_samples`.
"""
