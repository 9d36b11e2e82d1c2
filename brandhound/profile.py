"""Brand profiles: one YAML file per protected brand, validated on load.

A profile says what to protect (names, domains, products with their prices
and official photos), what to look for (counterfeit wording per language,
marketplaces, corporate e-mail domains, card BIN ranges, secret prefixes),
what to leave alone (allowlisted domains and sellers) and who the rights
holder is, for takedown notices. :func:`load_profile` raises
:class:`ProfileError` whose message names the file, the field and the problem.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, overload

import yaml
from PIL import Image, UnidentifiedImageError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from brandhound.currencies import ISO_4217

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class ProfileError(ValueError):
    """A brand profile is unreadable or invalid. One line per problem: ``file: field: problem``."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def _domain(value: str) -> str:
    """Lowercase host name; IDNs are accepted in Unicode or punycode and kept in Unicode."""
    name = value.strip().rstrip(".").lower()
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{value!r} is not a valid domain name (IDNA encoding fails)") from None
    labels = ascii_name.split(".")
    if len(labels) < 2 or len(ascii_name) > 253 or not all(_LABEL.match(lb) for lb in labels):
        raise ValueError(f"{value!r} is not a valid domain name")
    if not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}", labels[-1]):
        raise ValueError(f"{value!r} has an invalid top-level domain {labels[-1]!r}")
    try:
        return ascii_name.encode("ascii").decode("idna")
    except UnicodeError:
        return ascii_name


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_4217:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code


def _language(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2}", value):
        raise ValueError(f"{value!r} is not an ISO 639-1 language code (two lowercase letters)")
    return value


Domain = Annotated[str, AfterValidator(_domain)]
Currency = Annotated[str, AfterValidator(_currency)]
Language = Annotated[str, AfterValidator(_language)]
NonEmpty = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    # A misspelt key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _image_file(value: Path, info: ValidationInfo) -> Path:
    base: Path = (info.context or {}).get("base_dir", Path("."))
    path = value if value.is_absolute() else base / value
    if not path.is_file():
        raise ValueError(f"image file {value} does not exist (looked for {path})")
    try:
        with Image.open(path) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"image file {value} is not a readable image: {exc}") from None
    return path.resolve()


ImageFile = Annotated[Path, AfterValidator(_image_file)]


class Money(_Model):
    amount: PositiveFloat
    currency: Currency


class ProductSpec(_Model):
    """A genuine product of the brand."""

    name: NonEmpty
    sku: NonEmpty
    msrp: Money
    images: list[ImageFile] = Field(min_length=1)
    aliases: list[NonEmpty] = []


class Marketplace(_Model):
    """A marketplace to watch."""

    name: NonEmpty
    domain: Domain
    search_url: Annotated[str, Field(pattern=r"^https?://.*\{query\}")] | None = None
    #: Regular expression matched against a link's path to tell listing pages from the rest.
    listing_pattern: NonEmpty | None = None
    abuse_email: NonEmpty | None = None
    report_form_url: NonEmpty | None = None


    @field_validator("listing_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return pattern


class Trademark(_Model):
    mark: NonEmpty
    office: NonEmpty
    number: NonEmpty
    classes: list[Annotated[int, Field(ge=1, le=45)]] = Field(min_length=1)


class Contact(_Model):
    name: NonEmpty
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class RightsHolder(_Model):
    """Who asks for takedowns, and on what rights."""

    legal_name: NonEmpty
    address: NonEmpty
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    phone: NonEmpty | None = None
    signatory: Contact
    trademarks: list[Trademark] = Field(min_length=1)
    copyrighted_works: list[NonEmpty] = []


class TakedownContact(_Model):
    """Who receives notices, overriding what RDAP says: for a domain, a registrar or a hosting provider;
    without a match key, the brand's law-enforcement liaison or internal team."""

    kind: Literal["registrar", "host", "law_enforcement", "internal"]
    domain: Domain | None = None
    registrar: NonEmpty | None = None
    hosting_provider: NonEmpty | None = None
    name: NonEmpty
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    form_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _matches_its_kind(self) -> TakedownContact:
        keys = {k for k in ("domain", "registrar", "hosting_provider") if getattr(self, k)}
        allowed = {"registrar": {"domain", "registrar"}, "host": {"domain", "hosting_provider"}}.get(self.kind, set())
        if keys - allowed:
            raise ValueError(f"a {self.kind} contact cannot match on {', '.join(sorted(keys - allowed))}"
                             + (f" (use {' or '.join(sorted(allowed))})" if allowed else ""))
        if allowed and len(keys) != 1:
            raise ValueError(f"a {self.kind} contact needs exactly one of {', '.join(sorted(allowed))}")
        if not (self.email or self.form_url):
            raise ValueError("needs an email or a form_url")
        return self


class Allowlist(_Model):
    """Legitimate resellers, reviewers and press: never flagged."""

    domains: list[Domain] = []
    sellers: list[NonEmpty] = []


class ExchangeRates(_Model):
    """How many units of each currency one unit of ``base`` buys."""

    base: Currency
    rates: dict[Currency, PositiveFloat] = {}


class DetectionProfile(_Model):
    """What the detectors need of a brand: its names, domains and what to look for.

    Enough for ``score-domain``, ``scan-leaks`` and ``match-image`` on their own (a minimal profile
    an analyst writes in a minute); :class:`BrandProfile` adds what crawls and takedowns need.
    """

    id: Annotated[str, Field(pattern=_SLUG.pattern)]
    name: NonEmpty
    names: list[NonEmpty] = Field(min_length=1, description="Brand names as written in listings.")
    misspellings: list[NonEmpty] = []
    official_domains: list[Domain] = Field(min_length=1)
    corporate_email_domains: list[Domain] = []
    products: list[ProductSpec] = []
    logos: list[ImageFile] = []
    counterfeit_keywords: dict[Language, list[NonEmpty]] = {}
    marketplaces: list[Marketplace] = []
    notice_languages: list[Language] = ["en"]
    rights_holder: RightsHolder | None = None
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.7
    allowlist: Allowlist = Allowlist()
    exchange_rates: ExchangeRates | None = None
    tor_only_hosts: list[NonEmpty] = []
    card_bin_ranges: list[Annotated[str, Field(pattern=r"^\d{6,8}(-\d{6,8})?$")]] = []
    secret_prefixes: list[NonEmpty] = []
    #: A seller who joined a marketplace less than this many days before the capture is new.
    new_seller_days: Annotated[int, Field(gt=0)] = 90
    #: Where genuine goods ship from (ISO 3166 alpha-2 codes or country names); empty: not compared.
    expected_ships_from: list[NonEmpty] = []
    takedown_contacts: list[TakedownContact] = []

    @field_validator("notice_languages")
    @classmethod
    def _english_first_class(cls, langs: list[str]) -> list[str]:
        # Notices fall back to English when a translation is missing.
        if "en" not in langs:
            raise ValueError("must include 'en', the fallback language for notices")
        return langs

    @model_validator(mode="after")
    def _skus_unique(self) -> DetectionProfile:
        seen: set[str] = set()
        for product in self.products:
            if product.sku in seen:
                raise ValueError(f"product SKU {product.sku!r} appears twice")
            seen.add(product.sku)
        return self


class BrandProfile(DetectionProfile):
    """A full brand profile: what the detectors need, and the products, the wording to look for,
    the corporate mail domains and the rights holder that crawls and takedown notices need."""

    corporate_email_domains: list[Domain] = Field(min_length=1)
    products: list[ProductSpec] = Field(min_length=1)
    counterfeit_keywords: dict[Language, list[NonEmpty]] = Field(min_length=1)
    notice_languages: list[Language] = Field(min_length=1)
    rights_holder: RightsHolder


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _problem(err: ErrorDetails) -> str:
    where = _format_loc(err["loc"])
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "missing":
        return f"{where}: required field is missing"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown field (misspelt?)"
    shown = err.get("input")
    if err["type"] not in {"value_error", "assertion_error"} and isinstance(shown, (str, int, float, bool)):
        return f"{where}: {msg} (got {shown!r})"
    return f"{where}: {msg}"


@overload
def load_profile(path: str | Path, *, detect_only: Literal[False] = False) -> BrandProfile: ...
@overload
def load_profile(path: str | Path, *, detect_only: bool) -> DetectionProfile: ...


def load_profile(path: str | Path, *, detect_only: bool = False) -> DetectionProfile:
    """Read and validate a brand profile; image paths are relative to the file.

    With ``detect_only`` a minimal profile is enough (:class:`DetectionProfile`: id, name, names,
    official domains and whatever else the detector at hand reads); the result then is a
    :class:`DetectionProfile` unless the file is a full profile anyway.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(path, ["no such file"]) from None
    except IsADirectoryError:
        raise ProfileError(path, ["is a directory, not a profile file (a directory of profiles is taken where "
                                  "the command says --brands DIR)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(path, [f"cannot read the file: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ProfileError(path, [f"{where}not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise ProfileError(path, ["expected a mapping of fields at the top level"])
    context = {"base_dir": path.parent}
    if detect_only:
        try:
            return BrandProfile.model_validate(data, context=context)
        except ValidationError:
            model: type[DetectionProfile] = DetectionProfile
    else:
        model = BrandProfile
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ProfileError(path, [_problem(e) for e in exc.errors()]) from None


def profile_files(path: str | Path) -> list[Path]:
    """The profile files ``path`` names: itself when it is a file; in a directory, every ``*.yaml``
    and ``*.yml`` in it and every ``*/brand.yaml`` one level down (the examples' layout)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    found = {*path.glob("*.yaml"), *path.glob("*.yml"), *path.glob("*/brand.yaml"), *path.glob("*/brand.yml")}
    return sorted(p for p in found if p.is_file())


@overload
def load_profiles(path: str | Path, *, detect_only: Literal[False] = False) -> list[BrandProfile]: ...
@overload
def load_profiles(path: str | Path, *, detect_only: bool) -> list[DetectionProfile]: ...


def load_profiles(path: str | Path, *, detect_only: bool = False) -> list[BrandProfile] | list[DetectionProfile]:
    """Every brand profile in a file or a directory (see :func:`profile_files`), for a deployment that
    protects several brands at once; two profiles with one ``id`` are an error."""
    files = profile_files(path)
    if not files:
        raise ProfileError(Path(path), ["no brand profiles here (expected *.yaml files or */brand.yaml)"])
    profiles: list[DetectionProfile] = []
    seen: dict[str, Path] = {}
    for file in files:
        profile = load_profile(file, detect_only=detect_only)
        if profile.id in seen:
            raise ProfileError(file, [f"id: {profile.id!r} is also the id of {seen[profile.id]}"])
        seen[profile.id] = file
        profiles.append(profile)
    return profiles
