"""Discovery: host names seen as they appear (in certificate-transparency logs, in newly-registered-domain
lists) scored against every protected brand at once; the flagged ones become candidate sites.

Each name is scored against every brand profile (:func:`brand_scorer`); a name at or above a brand's
threshold becomes a :class:`~brandhound.items.Site` candidate (``https://<name>/``, what the surface
crawl captures next) and a ``lookalike_domain`` :class:`~brandhound.items.Finding` naming the brand
(the one it resembles most), with the domain signals and one ``discovered_in``
signal of weight 0 telling where it was seen: the certificate's issuer, validity, the log and the
index, or the list it was in. A leading ``www.`` is dropped (it is the same site); a name seen
again in the same batch is one candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

from brandhound.items import BrandRef, Crawl, Event, Finding, Indicator, Signal, Site, Subject, Threat, Tls
from brandhound.profile import DetectionProfile
from brandhound.urls import url_fields
from detectors.domain_brands import MultiBrandScorer
from detectors.domain_similarity import DomainScore, DomainScorer
from detectors.scoring import explain

KIND = "lookalike_domain"
CT, NRD = "ct", "nrd"

#: ``score(names) -> per name, (the id of the brand it resembles most or None, its DomainScore)``.
BrandScorer = Callable[[Sequence[str]], list[tuple[str | None, DomainScore]]]


def brand_scorer(profiles: Sequence[DetectionProfile]) -> BrandScorer:
    """The scorer discovery uses: the one place to switch between the two below."""
    # The index now holds each name form's neighbour swaps too, so a swap across the middle of a name
    # (kesrtava.com for kestrava) reaches its brand; the flagged set equals the per-brand reference's on the
    # sandbox CT names at 1, 10 and 100 brands, at several times its speed.
    return multi_brand_scorer(profiles)


def multi_brand_scorer(profiles: Sequence[DetectionProfile]) -> BrandScorer:
    """Scores names against every profile at once with :class:`~detectors.domain_brands.MultiBrandScorer`
    (one token index of every brand's name forms; only the brands a name hits are scored in full)."""
    scorer = MultiBrandScorer(profiles)

    def score(names: Sequence[str]) -> list[tuple[str | None, DomainScore]]:
        return [(r.brand, r.result) for r in scorer.score_many(list(names))]

    return score


def per_brand_scorer(profiles: Sequence[DetectionProfile]) -> BrandScorer:
    """Every name through every brand's :class:`DomainScorer`: the reference the multi-brand scorer is
    measured against (``bench/discover.py``), the best brand kept."""
    scorers = [(p.id, DomainScorer.from_profile(p)) for p in profiles]

    def score(names: Sequence[str]) -> list[tuple[str | None, DomainScore]]:
        best: list[tuple[str | None, DomainScore] | None] = [None] * len(names)
        for brand, scorer in scorers:
            for i, result in enumerate(scorer.score_many(list(names))):
                if (current := best[i]) is None or result.score > current[1].score:
                    best[i] = (brand, result)
        return [b if b is not None else (None, DomainScore(n, n, None, 0.0)) for n, b in zip(names, best)]

    return score


@dataclass(frozen=True)
class Sighting:
    """A host name and where it was seen."""

    name: str
    source: str                             # CT or NRD
    log: str | None = None                  # CT: the log's URL
    index: int | None = None                # CT: the entry's index in it
    logged_at: datetime | None = None       # CT: when the log took it; NRD: when the list was read
    issuer: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    precert: bool = False
    list_source: str | None = None          # NRD: the file or URL

    def evidence(self) -> str:
        if self.source == NRD:
            return f"{self.name} is in the newly registered domains list {self.list_source}"
        what = "precertificate" if self.precert else "certificate"
        when = f", valid from {self.not_before:%Y-%m-%d %H:%M} UTC" if self.not_before else ""
        logged = f" on {self.logged_at:%Y-%m-%d %H:%M} UTC" if self.logged_at else ""
        return (f"a {what} for {self.name} issued by {self.issuer or 'an unknown issuer'}{when} was logged{logged} "
                f"in the CT log {self.log} at index {self.index}")


@dataclass
class Discovery:
    """A flagged name: the candidate site, its finding and the brand it imitates."""

    sighting: Sighting
    brand: DetectionProfile
    score: DomainScore
    site: Site
    finding: Finding


def site_name(name: str) -> str:
    """The host a name stands for: ``www.`` dropped (the same site), lower case."""
    name = name.lower().rstrip(".")
    return name[4:] if name.startswith("www.") and name.count(".") >= 2 else name


class Discoverer:
    """Scores sightings against every brand; build once per run with the brand profiles."""

    def __init__(self, profiles: Sequence[DetectionProfile], *, job_id: str | None = None,
                 scorer: BrandScorer | None = None):
        if not profiles:
            raise ValueError("discovery needs at least one brand profile")
        self.profiles = list(profiles)
        self.job_id = job_id
        self._by_id = {p.id: p for p in self.profiles}
        self.score = scorer or brand_scorer(self.profiles)
        self.scored = 0  # names scored so far (each against every brand)

    def discover(self, sightings: Iterable[Sighting], now: datetime | None = None) -> list[Discovery]:
        """The flagged sightings, one per distinct name of this batch, best brand first."""
        first: dict[str, Sighting] = {}
        for s in sightings:
            first.setdefault(site_name(s.name), s)
        names = list(first)
        if not names:
            return []
        self.scored += len(names)
        now = now or datetime.now(timezone.utc)
        out = []
        for name, (brand, score) in zip(names, self.score(names)):
            profile = self._by_id.get(brand) if brand else None
            if profile is not None and score.score >= profile.threshold:
                out.append(self._discovery(first[name], name, score, profile, now))
        return out

    def _discovery(self, sighting: Sighting, name: str, score: DomainScore, profile: DetectionProfile,
                   now: datetime) -> Discovery:
        brand = BrandRef(id=profile.id, name=profile.name)
        crawl = Crawl(source_type=sighting.source, job_id=self.job_id, fetched_at=sighting.logged_at or now)
        dataset = f"discover.{sighting.source}"
        tls = (Tls(issuer=sighting.issuer, not_before=sighting.not_before, not_after=sighting.not_after)
               if sighting.source == CT else None)
        site = Site(event=Event(created=now, dataset=dataset), brand=brand, url=url_fields(f"https://{name}/"),
                    crawl=crawl, tls=tls)
        seen = Signal(name="discovered_in", value=sighting.log or sighting.list_source, weight=0.0,
                      contribution=0.0, evidence=sighting.evidence())
        signals = [*score.signals, seen]
        imitates = f" (imitates {score.matched_official})" if score.matched_official else ""
        finding = Finding(
            event=Event(created=now, dataset=dataset), brand=brand, kind=KIND, score=score.score,
            threshold=profile.threshold, verdict="flagged", signals=signals,
            explanation=f"{explain(KIND, score.score, profile.threshold, score.signals)[:-1]}{imitates}; {seen.evidence}.",
            subject=Subject(index=Site.INDEX, id=site.doc_id(), url=site.url.full), url=site.url, crawl=crawl,
            threat=Threat(indicator=Indicator(type="domain-name", first_seen=now, last_seen=now, sightings=1)),
        )
        return Discovery(sighting, profile, score, site, finding)
