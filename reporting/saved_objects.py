"""Kibana saved objects for brandhound's indices, generated from the item schema.

Data views (with field formats), saved searches, Lens visualisations and
dashboards, in the NDJSON form Kibana 8.19's saved-objects import API takes.
Every field name comes from :mod:`reporting.fields`, which reads the index
mappings, so an object cannot name a field the schema lacks; ``brandhound kibana
build`` writes the result to ``deploy/kibana/brandhound.ndjson`` (a test fails
when that file is stale).

Saved searches are written in Lucene syntax: Kibana sends Lucene queries to
Elasticsearch as a ``query_string`` query unchanged, so :meth:`SavedSearch.es_query`
is exactly what Kibana runs, and the tests run it against a crawled index.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from brandhound.items import Finding, Item, Leak, Listing, Page, Site, Takedown
from reporting.fields import FieldInfo, index_fields

#: Where the generated objects are kept in the repository.
DEFAULT_NDJSON = Path(__file__).resolve().parent.parent / "deploy" / "kibana" / "brandhound.ndjson"
#: Evidence files (screenshots, HTML, images) are linked under this URL; ``kibana build
#: --evidence-base-url`` sets another (e.g. a web server in front of BRANDHOUND_HOME/evidence).
DEFAULT_EVIDENCE_BASE_URL = "file:///var/lib/brandhound/evidence/"
#: A counterfeit finding at or above this score is "high confidence".
HIGH_CONFIDENCE = 0.9
#: The Kibana version whose object formats these follow.
KIBANA_VERSION = "8.19.0"
CORE_MIGRATION_VERSION = "8.8.0"
#: Per-type migration versions of the attribute shapes written here; Kibana migrates
#: older shapes on import but refuses newer ones, so these are conservative.
TYPE_MIGRATION_VERSIONS = {"index-pattern": "8.0.0", "search": "8.0.0", "lens": "8.9.0", "dashboard": "8.9.0"}
#: Data views, by item kind, with their display names.
DATA_VIEWS: dict[type[Item], str] = {
    Finding: "Findings",
    Listing: "Listings",
    Site: "Sites",
    Page: "Pages",
    Leak: "Leaks",
    Takedown: "Takedowns",
}
TIME_FIELD = "event.created"
COUNT_FIELD = "___records___"  # Lens's name for "count of documents", not a field

_URL_LEAVES = {"full", "original", "url", "form_url", "action", "final_url"}
_URL_LISTS = {"links", "urls", "sources"}
_EVIDENCE_PARENTS = {"file", "screenshot", "html"}
_MASKED = {"secret.masked", "secret.hmac", "evidence.secret", "evidence.account"}
_SCORES = {"score", "threshold", "signals.weight", "signals.contribution"}
_PRICES = {"price.amount"}


def data_view_id(item_type: type[Item]) -> str:
    return f"brandhound-{item_type.INDEX}"


# --------------------------------------------------------------------------- field formats


def field_format(info: FieldInfo, evidence_base_url: str) -> dict[str, Any] | None:
    """Kibana's field format for a mapped field, or None for Kibana's default."""
    path = info.path
    parts = path.split(".")
    if path in _MASKED:
        return {"id": "string", "params": {"transform": False}}
    if info.type == "keyword" and len(parts) >= 2 and parts[-1] == "path" and parts[-2] in _EVIDENCE_PARENTS:
        return {"id": "url", "params": {"type": "a", "urlTemplate": evidence_base_url + "{{value}}",
                                        "labelTemplate": "evidence: {{value}}", "openLinkInCurrentTab": False}}
    if info.type == "keyword" and (parts[-1] in _URL_LEAVES or path in _URL_LISTS):
        return {"id": "url", "params": {"type": "a", "urlTemplate": None, "labelTemplate": None,
                                        "openLinkInCurrentTab": False}}
    if info.type == "long" and parts[-1] in {"size", "bytes"}:
        return {"id": "bytes", "params": {"pattern": "0,0.[0]b"}}
    if path in _PRICES:
        return {"id": "number", "params": {"pattern": "0,0.00"}}
    if path in _SCORES:
        return {"id": "percent", "params": {"pattern": "0.[0]%"}}
    return None


def field_attrs(info: FieldInfo) -> dict[str, Any] | None:
    """Labels shown in Discover; masked secrets say so, so nobody mistakes them for the secret."""
    if info.path in _MASKED:
        return {"customLabel": f"{info.path} (masked, never the secret)"}
    return None


# --------------------------------------------------------------------------- objects


def _saved_object(kind: str, object_id: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict:
    return {
        "attributes": attributes,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "id": object_id,
        "managed": False,
        "references": references,
        "type": kind,
        "typeMigrationVersion": TYPE_MIGRATION_VERSIONS[kind],
    }


def data_view(item_type: type[Item], name: str, prefix: str, evidence_base_url: str) -> dict:
    """The data view (index-pattern object) of one index, with formats and labels."""
    formats, attrs = {}, {}
    # typeshed's cache wants Hashable arguments, and mypy takes a dataclass's ``__hash__ = None`` for
    # its class object too; classes are hashable.
    for info in index_fields(item_type).values():  # type: ignore[arg-type]
        if (fmt := field_format(info, evidence_base_url)) is not None:
            formats[info.path] = fmt
        if (attr := field_attrs(info)) is not None:
            attrs[info.path] = attr
    attributes = {
        "allowHidden": False,
        "fieldAttrs": json.dumps(attrs, sort_keys=True),
        "fieldFormatMap": json.dumps(formats, sort_keys=True),
        "fields": "[]",
        "name": f"brandhound {name}",
        "runtimeFieldMap": "{}",
        "sourceFilters": "[]",
        "timeFieldName": TIME_FIELD,
        "title": f"{prefix}-{item_type.INDEX}",
        "typeMeta": "{}",
    }
    return _saved_object("index-pattern", data_view_id(item_type), attributes, [])


@dataclass(frozen=True)
class PhraseFilter:
    """A Kibana filter pill: ``field`` is ``value`` (or is not, when negated)."""

    field: str
    value: str
    negate: bool = False

    def kibana(self, position: int) -> dict[str, Any]:
        return {
            "$state": {"store": "appState"},
            "meta": {"alias": None, "disabled": False, "key": self.field, "negate": self.negate,
                     "params": {"query": self.value}, "type": "phrase",
                     "indexRefName": f"kibanaSavedObjectMeta.searchSourceJSON.filter[{position}].meta.index"},
            "query": {"match_phrase": {self.field: self.value}},
        }


@dataclass(frozen=True)
class SavedSearch:
    """A Discover session analysts open by name."""

    slug: str
    title: str
    item_type: type[Item]
    description: str
    #: Lucene query string, run by Elasticsearch's ``query_string`` as Kibana does.
    query: str
    columns: tuple[str, ...]
    sort: tuple[tuple[str, str], ...] = ((TIME_FIELD, "desc"),)
    filters: tuple[PhraseFilter, ...] = ()
    #: The time range the search opens with (Kibana's ``timeRestore``).
    time_from: str = "now-30d"

    @property
    def id(self) -> str:
        return f"brandhound-search-{self.slug}"

    def es_query(self) -> dict[str, Any]:
        """The Elasticsearch query Kibana builds from this search (its time picker aside)."""
        bool_query: dict[str, list] = {"must": [{"query_string": {"query": self.query, "analyze_wildcard": True}}]}
        for f in self.filters:
            bool_query.setdefault("must_not" if f.negate else "filter", []).append(f.kibana(0)["query"])
        return {"bool": bool_query}

    def fields(self) -> set[str]:
        """Every field the search names: columns, sort, filters and the query's ``field:`` terms."""
        return ({*self.columns} | {name for name, _ in self.sort} | {f.field for f in self.filters}
                | set(query_fields(self.query)))

    def saved_object(self) -> dict:
        view = data_view_id(self.item_type)
        source = {
            "filter": [f.kibana(i) for i, f in enumerate(self.filters)],
            "highlightAll": True,
            "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
            "query": {"language": "lucene", "query": self.query},
            "version": True,
        }
        attributes = {
            "columns": list(self.columns),
            "description": self.description,
            "grid": {},
            "hideChart": False,
            "isTextBasedQuery": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source, sort_keys=True)},
            "sort": [list(s) for s in self.sort],
            "timeRange": {"from": self.time_from, "to": "now"},
            "timeRestore": True,
            "title": self.title,
        }
        references = [{"id": view, "name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern"}]
        references += [{"id": view, "name": f"kibanaSavedObjectMeta.searchSourceJSON.filter[{i}].meta.index",
                        "type": "index-pattern"} for i in range(len(self.filters))]
        return _saved_object("search", self.id, attributes, references)


def query_fields(query: str) -> list[str]:
    """Field names a Lucene query string names (``field:``, ``_exists_:field``)."""
    query = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)  # quoted values hold colons too
    names = re.findall(r"(?<![\w.\\])([A-Za-z_][\w.]*)\s*:", query)
    names += re.findall(r"_exists_\s*:\s*([\w.]+)", query)
    return [n for n in names if n != "_exists_"]


FLAGGED = PhraseFilter("verdict", "flagged")

SAVED_SEARCHES: tuple[SavedSearch, ...] = (
    SavedSearch(
        "high-confidence-counterfeits-7d", "High-confidence counterfeits, last 7 days", Finding,
        f"Counterfeit listings flagged with a score of at least {HIGH_CONFIDENCE:.0%} in the last 7 days.",
        f"kind:counterfeit_listing AND score:[{HIGH_CONFIDENCE} TO *] AND {TIME_FIELD}:[now-7d TO now]",
        ("score", "url.full", "url.domain", "campaign.id", "explanation"),
        sort=(("score", "desc"), (TIME_FIELD, "desc")), filters=(FLAGGED,), time_from="now-7d",
    ),
    SavedSearch(
        "fake-stores-by-brand", "Fake stores by brand", Finding,
        "Flagged fake stores (look-alike shops), grouped by the brand they imitate.",
        "kind:fake_store",
        ("brand.name", "url.domain", "score", "url.full", "explanation"),
        sort=(("brand.id", "asc"), ("score", "desc")), filters=(FLAGGED,),
    ),
    SavedSearch(
        "phishing-sites", "Phishing sites", Finding,
        "Flagged phishing sites: credential or card forms on look-alike domains.",
        "kind:phishing",
        ("url.domain", "score", "url.full", "explanation"),
        sort=(("score", "desc"),), filters=(FLAGGED,),
    ),
    SavedSearch(
        "new-corporate-credentials-7d", "New leaked corporate credentials, last 7 days", Leak,
        "Corporate accounts whose credentials were first seen leaked in the last 7 days (passwords masked).",
        "kind:credential AND _exists_:user.domain AND threat.indicator.first_seen:[now-7d TO now]",
        ("user.email", "user.domain", "secret.masked", "threat.indicator.sightings", "url.full"),
        sort=(("threat.indicator.first_seen", "desc"),), time_from="now-7d",
    ),
    SavedSearch(
        "onion-findings", "Onion findings", Finding,
        "Findings from Tor onion sites (dark-web markets and leak forums).",
        "crawl.source_type:onion",
        ("kind", "verdict", "score", "url.full", "explanation"),
    ),
    SavedSearch(
        "takedowns-awaiting-approval", "Takedowns awaiting approval", Takedown,
        "Drafted notices no one has approved yet, oldest first.",
        "status:draft",
        ("recipient.name", "recipient.kind", "campaign.id", "subject_line", "unreviewed"),
        sort=((TIME_FIELD, "asc"),), time_from="now-1y",
    ),
    SavedSearch(
        "campaign-findings", "Findings by campaign", Finding,
        "Flagged findings that belong to a campaign, grouped by campaign; the dashboard ranks the "
        "campaigns with the most listings.",
        "_exists_:campaign.id",
        ("campaign.id", "kind", "url.domain", "score", "url.full"),
        sort=(("campaign.id", "asc"), ("score", "desc")), filters=(FLAGGED,),
    ),
)


# --------------------------------------------------------------------------- Lens


@dataclass(frozen=True)
class Chart:
    """A Lens bar chart: documents counted by a date histogram and/or a field's top values."""

    slug: str
    title: str
    item_type: type[Item]
    #: ``TIME_FIELD`` for a histogram over time, else a field whose top values are the bars.
    x: str
    breakdown: str | None = None
    query: str = ""
    size: int = 10

    @property
    def id(self) -> str:
        return f"brandhound-lens-{self.slug}"

    def fields(self) -> set[str]:
        return {self.x} | ({self.breakdown} if self.breakdown else set()) | set(query_fields(self.query))

    def _column_id(self, role: str) -> str:
        return hashlib.sha256(f"{self.slug}/{role}".encode()).hexdigest()[:8] + f"-{role}"

    def _terms(self, name: str, count_id: str, size: int) -> dict[str, Any]:
        return {"dataType": "string", "isBucketed": True, "label": f"Top {size} values of {name}",
                "operationType": "terms", "scale": "ordinal", "sourceField": name,
                "params": {"missingBucket": False, "orderBy": {"columnId": count_id, "type": "column"},
                           "orderDirection": "desc", "otherBucket": True, "parentFormat": {"id": "terms"},
                           "size": size}}

    def saved_object(self) -> dict:
        layer = f"layer-{self.slug}"
        x_id, y_id, b_id = self._column_id("x"), self._column_id("count"), self._column_id("breakdown")
        if self.x == TIME_FIELD:
            x_col = {"dataType": "date", "isBucketed": True, "label": self.x, "operationType": "date_histogram",
                     "scale": "interval", "sourceField": self.x,
                     "params": {"dropPartials": False, "includeEmptyRows": True, "interval": "auto"}}
            series = "bar_stacked"
        else:
            x_col = self._terms(self.x, y_id, self.size)
            series = "bar_horizontal_stacked"
        columns = {x_id: x_col, y_id: {"dataType": "number", "isBucketed": False, "label": "Count of records",
                                      "operationType": "count", "params": {"emptyAsNull": True},
                                      "scale": "ratio", "sourceField": COUNT_FIELD}}
        order = [x_id, y_id]
        layer_config: dict[str, Any] = {"accessors": [y_id], "layerId": layer, "layerType": "data",
                                        "seriesType": series, "xAccessor": x_id}
        if self.breakdown:
            columns[b_id] = self._terms(self.breakdown, y_id, 8)
            order = [b_id, x_id, y_id]
            layer_config["splitAccessor"] = b_id
        state = {
            "adHocDataViews": {},
            "datasourceStates": {"formBased": {"layers": {layer: {"columnOrder": order, "columns": columns,
                                                                  "incompleteColumns": {}}}}},
            "filters": [],
            "internalReferences": [],
            "query": {"language": "lucene", "query": self.query},
            "visualization": {"layers": [layer_config], "legend": {"isVisible": True, "position": "right"},
                              "preferredSeriesType": series, "title": "Empty XY chart", "valueLabels": "hide"},
        }
        attributes = {"description": "", "state": state, "title": self.title, "visualizationType": "lnsXY"}
        references = [{"id": data_view_id(self.item_type), "name": f"indexpattern-datasource-layer-{layer}",
                       "type": "index-pattern"}]
        return _saved_object("lens", self.id, attributes, references)


FLAGGED_QUERY = "verdict:flagged"

CHARTS: tuple[Chart, ...] = (
    Chart("findings-over-time-by-kind", "Flagged findings over time, by kind", Finding, TIME_FIELD, "kind",
          FLAGGED_QUERY),
    # Findings carry their subject's URL, not its marketplace: the registered domain is the marketplace's.
    Chart("findings-by-marketplace", "Flagged findings by marketplace or site (registered domain)", Finding,
          "url.registered_domain", "kind", FLAGGED_QUERY),
    Chart("listings-by-marketplace", "Listings captured by marketplace", Listing, "marketplace",
          query="_exists_:marketplace"),
    Chart("findings-by-brand", "Flagged findings by brand", Finding, "brand.name", "kind", FLAGGED_QUERY),
    Chart("findings-by-source", "Flagged findings by source type", Finding, "crawl.source_type", "kind",
          FLAGGED_QUERY),
    Chart("top-campaigns", "Campaigns with the most flagged findings", Finding, "campaign.id", "kind",
          f"{FLAGGED_QUERY} AND _exists_:campaign.id"),
    Chart("top-sellers", "Sellers with the most listings", Listing, "seller.name.keyword", "marketplace"),
    Chart("takedown-pipeline", "Takedown pipeline: notices by status", Takedown, "status", "recipient.kind"),
    Chart("takedowns-over-time", "Takedown status changes over time", Takedown, TIME_FIELD, "status"),
    Chart("leaks-by-domain", "Leaked credentials by corporate domain", Leak, "user.domain", "kind",
          "kind:credential"),
    Chart("leaks-over-time", "Leaks first seen over time, by kind", Leak, TIME_FIELD, "kind"),
)


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    description: str
    #: Lens charts and saved searches, laid out two per row.
    panels: tuple[Chart | SavedSearch, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return f"brandhound-dashboard-{self.slug}"

    def saved_object(self) -> dict:
        panels, references = [], []
        for i, panel in enumerate(self.panels, start=1):
            kind = "lens" if isinstance(panel, Chart) else "search"
            wide = kind == "search"
            row_y = ((i - 1) // 2) * 15
            panels.append({
                "embeddableConfig": {"enhancements": {}},
                "gridData": {"h": 15, "i": str(i), "w": 48 if wide else 24, "x": 0 if wide or i % 2 else 24,
                             "y": row_y},
                "panelIndex": str(i),
                "panelRefName": f"panel_{i}",
                "title": panel.title,
                "type": kind,
                "version": KIBANA_VERSION,
            })
            references.append({"id": panel.id, "name": f"{i}:panel_{i}", "type": kind})
        attributes = {
            "description": self.description,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
                {"filter": [], "query": {"language": "lucene", "query": ""}}, sort_keys=True)},
            "optionsJSON": json.dumps({"hidePanelTitles": False, "syncColors": False, "syncCursor": True,
                                       "syncTooltips": False, "useMargins": True}, sort_keys=True),
            "panelsJSON": json.dumps(panels, sort_keys=True),
            "refreshInterval": {"pause": True, "value": 60000},
            "timeFrom": "now-30d",
            "timeRestore": True,
            "timeTo": "now",
            "title": self.title,
            "version": 1,
        }
        return _saved_object("dashboard", self.id, attributes, references)


def _chart(slug: str) -> Chart:
    return next(c for c in CHARTS if c.slug == slug)


def _search(slug: str) -> SavedSearch:
    return next(s for s in SAVED_SEARCHES if s.slug == slug)


DASHBOARDS: tuple[Dashboard, ...] = (
    Dashboard("findings", "brandhound: findings overview",
              "Flagged findings over time, by kind, marketplace, site, brand and source; top sellers and campaigns.",
              (_chart("findings-over-time-by-kind"), _chart("findings-by-marketplace"), _chart("findings-by-brand"),
               _chart("findings-by-source"), _chart("top-campaigns"), _chart("top-sellers"),
               _chart("listings-by-marketplace"), _search("high-confidence-counterfeits-7d"))),
    Dashboard("takedowns-and-leaks", "brandhound: takedowns and leaks",
              "Where the takedown notices stand, and leaked corporate credentials by domain.",
              (_chart("takedown-pipeline"), _chart("takedowns-over-time"), _chart("leaks-by-domain"),
               _chart("leaks-over-time"), _search("takedowns-awaiting-approval"),
               _search("new-corporate-credentials-7d"))),
)


# --------------------------------------------------------------------------- the file


def build_objects(prefix: str = "brandhound", evidence_base_url: str = DEFAULT_EVIDENCE_BASE_URL) -> list[dict]:
    """Every saved object, referenced objects before the objects that use them."""
    objects = [data_view(t, name, prefix, evidence_base_url) for t, name in DATA_VIEWS.items()]
    objects += [s.saved_object() for s in SAVED_SEARCHES]
    objects += [c.saved_object() for c in CHARTS]
    objects += [d.saved_object() for d in DASHBOARDS]
    return objects


def to_ndjson(objects: Iterable[dict]) -> str:
    """One object a line, keys sorted, so that a diff shows what an analyst changed."""
    return "".join(json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n" for obj in objects)


def read_ndjson(text: str, source: str) -> list[dict]:
    """Saved objects from NDJSON; a bad line is an error naming ``source`` and the line."""
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or "type" not in obj or "id" not in obj:
            if isinstance(obj, dict) and "exportedCount" in obj:
                continue  # the export details line Kibana appends
            raise ValueError(f"{source}:{number}: not a saved object (no type and id)")
        objects.append(obj)
    return objects
