"""A streaming scanner for leak dumps: corporate credentials, payment cards and secrets.

Dumps are big (combo lists of gigabytes), dirty (binary garbage, several encodings in one
file, lines of any length) and mostly irrelevant: nearly every line is someone else's
account. The scanner is built for that:

* It reads in bounded chunks (:attr:`LeakScanner.chunk_size`) and works on *blocks* of whole
  lines. A line longer than :attr:`LeakScanner.max_line` is never held whole: it is scanned in
  overlapping windows, so memory stays bounded even for a 1 GB line.
* Each block is first searched, at the byte level, for every corporate e-mail domain and every
  secret prefix at once with an Aho-Corasick automaton (``pyahocorasick``), on the lowercased
  bytes. Only the lines where something matched are decoded (UTF-8, else cp1252, else
  latin-1, which never fails) and parsed with regular expressions. Card numbers, which have no
  fixed prefix, are found with one compiled byte pattern per block and checked with Luhn.
* The clear secret exists only inside the parse functions here: it is turned into a
  :class:`~brandhound.items.Secret` (masked, length, HMAC) right away, and a :class:`LeakHit`
  carries only that. Account names (e-mail, user name) are kept in clear: they are what a
  security team acts on.

Secret types (keys and tokens by their documented formats, and tokens named by the setting they are
assigned to, such as ``HEROKU_API_KEY=...``) and what each is: :data:`CLAIMED_TYPES`
(``evaluation/corpora/secrets/KINDS.md`` is its table).

Credential formats: ``email:password``, ``email;password``, ``email|password``,
``url:login:password`` (and with spaces or ``;``/``|``, the URL quoted or not), URL user info
(``https://user:pass@host``, the user may be an e-mail address), code literals
(``login('user@corp', 'password')``), stealer-log records (``URL:`` / ``USER:`` / ``PASS:`` and the
other field names stealer-log parsers document: ``Host``, ``Hostname``, ``Login``, ``USER LOGIN``,
``Password``, ``USER PASSWORD``, their leet spellings such as ``P455W0RD``, one field per line or
``|``-separated on one line, the URL before or after the account) and configuration records: a
host or an account of a corporate domain with a password field near it in the same record
(``.env`` and ``.netrc`` files, JSON, YAML, INI and XML settings of FTP/SFTP/SMTP/IRC clients).
Only credentials of the brand's corporate domains are parsed at all: a line without one of
them is never decoded. A password is the token after the separator up to the next white space.
A configuration record is read within the block of lines being scanned (a record of a dump larger
than :data:`CHUNK_SIZE` that straddles two blocks is read from the block holding its corporate line).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import unquote, urlsplit

import ahocorasick

from brandhound.config import HmacKey
from brandhound.items import Secret
from brandhound.profile import BrandProfile
from detectors.secret_masking import protect, protect_card

CHUNK_SIZE = 1 << 20
#: Longest line scanned as one piece; longer lines are scanned in windows of this size.
MAX_LINE = 1 << 20
#: Overlap between windows of a long line: a token shorter than this is never cut in two.
WINDOW_OVERLAP = 16 << 10
#: Longest password accepted (longer "passwords" are text, not credentials).
MAX_PASSWORD = 256
#: How far back a block keeps an unfinished private key or stealer record for the next block.
MAX_HOLDBACK = 64 << 10


@dataclass(frozen=True)
class LeakHit:
    """One leaked credential, card or secret found in a dump. Never holds the clear secret."""

    #: credential, card or secret.
    kind: str
    secret: Secret
    #: 1-based line number in the dump.
    line: int
    #: Byte offset in the dump where the credential, card number or secret starts.
    offset: int
    #: The account in clear, for credentials: lowercase e-mail address or user name.
    user: str | None = None
    #: Domain of the account's e-mail address (or of the service URL, for a bare user name).
    domain: str | None = None
    #: Credentials: the line format (email:password, url:login:password, stealer_log...);
    #: secrets: the key type (aws_access_key_id, github_token, private_key...); cards: None.
    secret_type: str | None = None
    #: The service URL the credential is for, when the dump says.
    service: str | None = None
    #: Corporate domain (credentials), brand BIN range (cards) or brand secret prefix (secrets).
    matched: str | None = None
    #: The hit belongs to the brand: corporate account, brand BIN, brand key prefix.
    brand: bool = False
    #: Card: an expiry date follows the number. Secret: it is assigned (``NAME=value``).
    context: str | None = None
    #: Last line of a secret or record spread over several lines (a private key, a stealer record); else None.
    end_line: int | None = None

    @property
    def account(self) -> str:
        return self.user or ""


# --------------------------------------------------------------------------- helpers


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def decode_line(raw: bytes) -> tuple[str, str]:
    """``raw`` as text and the encoding used: UTF-8, else cp1252, else latin-1 (never fails)."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _byte_index(text: str, encoding: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass")) if encoding == "utf-8" else index


def _domain_forms(domain: str) -> set[str]:
    forms = {domain.lower()}
    try:
        forms.add(domain.encode("idna").decode("ascii").lower())
    except UnicodeError:
        pass
    return forms


@dataclass(frozen=True)
class _SecretRule:
    name: str
    anchors: tuple[str, ...]
    pattern: re.Pattern[bytes]
    #: The value is this group of the match (0: the whole match; a name for a named group).
    group: int | str = 0
    brand: bool = False
    #: What to show as the match (the brand prefix as written in the profile).
    label: str | None = None
    #: The anchor must not follow a letter or digit.
    boundary: bool = True
    #: The pattern starts up to this many bytes before the anchor (for formats known by their end or
    #: middle, as Mailchimp's ``-us12``); the boundary is then checked where the pattern starts.
    back: int = 0
    #: With ``back``: the literal the pattern starts with, so that it is tried only where that stands.
    head: bytes = b""
    #: A value the pattern matched is kept only when this accepts it.
    check: Callable[[bytes], bool] | None = None
    #: A keyword rule (a value named by its variable): it yields to a format rule at the same value.
    keyword: bool = False


_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_IDENT = _ALNUM | frozenset(b"_-.")
#: Values that stand for a secret rather than being one: references, templates, masks, examples.
_PLACEHOLDER = re.compile(rb"^(?:\$|%\(|\{\{|<|\*{3})|(?i:changeme|your[_-]|xxxx|placeholder|redacted)")
#: After a setting's name: an optional closing quote, the assignment and an optional opening quote.
_ASSIGN = rb"[\"']?[ \t]*(?::|=>|=(?!=)|\?=|:=)[ \t]*[\"']?"
#: The same, or white space alone (``ENV NAME value``, Dockerfile's old form: taken only after ``ENV``).
_ASSIGN_OR_SPACE = rb"(?:" + _ASSIGN + rb"|(?P<ws>[ \t]+)[\"']?)"
#: Dockerfile's ``ENV`` (also inside an image's history) right before a setting's name.
_ENV_BEFORE = re.compile(rb"(?<![A-Za-z0-9_])ENV[ \t]+$")
#: What may stand before a setting's name on a configuration line, where an unquoted value that ends the
#: line is a literal (YAML, .env, INI, properties, shell ``export``, Dockerfile ``ENV``/``ARG``, a YAML list item).
_LITERAL_BEFORE = re.compile(rb"(?:^|\n)[ \t]*(?:-[ \t]+)?(?:(?:export|ENV|ARG|set|setenv)[ \t]+)?[\"']?$")
#: A command-line flag setting an environment variable (``docker run -e NAME=value``): a literal anywhere.
_FLAG_BEFORE = re.compile(rb"(?:^|\s)(?:-e|--env|--build-arg)[ \t=]+[\"']?$")
#: What may follow a literal value on a configuration line: its end, a comment or a shell line continuation.
_LITERAL_AFTER = re.compile(rb"[\"']?[ \t]*(?:#[^\n]*|\\)?\r?(?:\n|$)")
#: An XML start tag's attributes, after its name (read as attributes, so that text is not searched for a '>').
_XML_ATTRIBUTES = rb"(?:[ \t]+[A-Za-z_][\w:.-]{0,63}=(?:\"[^\"<>\n]{0,128}\"|'[^'<>\n]{0,128}'))*[ \t]*"
#: The words of a name (``AttributeEventToken`` -> Attribute, Event, Token; ``HTTPResponse`` -> HTTP, Response).
_WORD = re.compile(rb"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_VOWEL = re.compile(rb"[aeiouyAEIOUY]")


def _looks_random(value: bytes, minimum: int = 16) -> bool:
    """A token rather than a word or a reference: long enough, two kinds of characters, no placeholder."""
    if len(value) < minimum or _PLACEHOLDER.search(value) or len(set(value)) < 6:
        return False
    classes = sum(1 for chars in (b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"0123456789")
                  if any(c in chars for c in value))
    return classes >= 2


def _wordy(value: bytes) -> bool:
    """Made of words as a name is (``AttributeEventToken``, ``settings.API_KEY``), not of random characters:
    at most one of its words has no vowel (random letters make many: ``YXNkZmZm`` -> YX, Nk, Zm, Zm)."""
    return sum(1 for word in _WORD.findall(value) if not _VOWEL.search(word)) <= 1


def _is_basic_auth(value: bytes) -> bool:
    """Base64 of ``user:password`` in text, as registry ``auth`` settings hold (random bytes that happen to
    hold a colon are not)."""
    try:
        decoded = base64.b64decode(value + b"=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    user, sep, password = decoded.removesuffix("\n").partition(":")
    return bool(sep and user and password) and decoded.removesuffix("\n").isprintable()


def _aws_secret_ok(value: bytes) -> bool:
    """An AWS secret access key by its setting's name: random-looking, or of the key's own length (40)."""
    return _looks_random(value) or (len(value) == 40 and not _PLACEHOLDER.search(value) and len(set(value)) > 1)


def _no_placeholder(value: bytes) -> bool:
    return not _PLACEHOLDER.search(value)


_BUILTIN_RULES = (
    _SecretRule("aws_access_key_id", ("akia", "asia", "abia", "acca", "a3t"),
                re.compile(rb"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    # The setting's name says what the value is, so the value's length is not asked (real keys
    # have 40 characters; copies, test keys and S3-compatible stores' keys do not).
    # The names AWS, boto and s3cmd write, and their shortenings (aws_secret_key, AWS_SEC_KEY).
    _SecretRule("aws_secret_access_key", ("secret_access_key", "secretaccesskey", "secret_key", "aws_sec", "awssec"),
                re.compile(rb"(?i:(?:aws_?)?secret_?access_?key|aws_?sec(?:ret)?_?(?:access_?)?key|secret_key)" +
                           _ASSIGN_OR_SPACE + rb"(?P<value>[A-Za-z0-9/+=]{16,128})(?![A-Za-z0-9/+=])"), group="value",
                check=_aws_secret_ok, boundary=False),
    # AWS's temporary credentials: the session token beside the key (hundreds of base64 characters).
    _SecretRule("aws_session_token", ("aws_session_token", "aws-session-token", "awssessiontoken", "aws_security_token",
                                      "aws-security-token", "awssecuritytoken", "aws_token", "aws-token", "awstoken"),
                re.compile(rb"(?i:aws[_-]?(?:(?:session|security)[_-]?)?token)" + _ASSIGN_OR_SPACE +
                           rb"(?P<value>[A-Za-z0-9/+=]{100,4096})(?![A-Za-z0-9/+=])"), group="value",
                check=_no_placeholder, boundary=False),
    _SecretRule("github_token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
                re.compile(rb"gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])")),
    _SecretRule("github_token", ("github_pat_",), re.compile(rb"github_pat_[A-Za-z0-9_]{22,255}(?![A-Za-z0-9_])")),
    # A fine-grained token's exact layout (22 + 59) is proof enough even glued to a word before it.
    _SecretRule("github_token", ("github_pat_",),
                re.compile(rb"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9_])"), boundary=False),
    _SecretRule("gitlab_token", ("glpat-", "glptt-", "gldt-"),
                re.compile(rb"gl(?:pat|ptt|dt)-[A-Za-z0-9_-]{20,50}(?![A-Za-z0-9_-])")),
    _SecretRule("slack_token", ("xox",),
                re.compile(rb"xox[abposr]-(?:[A-Za-z0-9]{1,40}-){1,4}[A-Za-z0-9]{8,64}(?![A-Za-z0-9-])")),
    # Workspace id / hook id / secret; the ids are read by their shape, not by their T and B letters.
    _SecretRule("slack_webhook", ("hooks.slack.com/services/",),
                re.compile(rb"hooks\.slack\.com/services/[A-Z0-9]{6,16}/[A-Z0-9]{6,16}/[A-Za-z0-9]{16,48}(?![A-Za-z0-9])"),
                boundary=False, check=_no_placeholder),
    _SecretRule("discord_webhook", ("discord.com/api/webhooks/", "discordapp.com/api/webhooks/"),
                re.compile(rb"discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,80}"), boundary=False),
    _SecretRule("telegram_bot_token", (":aa",), re.compile(rb"[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])"),
                back=10),
    _SecretRule("stripe_key", ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
                re.compile(rb"[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}(?![A-Za-z0-9])")),
    _SecretRule("google_api_key", ("aiza",), re.compile(rb"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    _SecretRule("digitalocean_token", ("dop_v1_", "doo_v1_", "dor_v1_"),
                re.compile(rb"do[opr]_v1_[a-f0-9]{64}(?![A-Za-z0-9])")),
    _SecretRule("heroku_api_key", ("hrku-",), re.compile(rb"HRKU-[A-Za-z0-9_-]{20,100}(?![A-Za-z0-9_-])")),
    _SecretRule("npm_token", ("npm_",), re.compile(rb"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    _SecretRule("pypi_token", ("pypi-ageichlwas5vcmc",),
                re.compile(rb"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}(?![A-Za-z0-9_-])")),
    _SecretRule("sendgrid_api_key", ("sg.",),
                re.compile(rb"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")),
    _SecretRule("shopify_token", ("shpat_", "shpca_", "shppa_", "shpss_"),
                re.compile(rb"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9])")),
    # Microsoft Entra ID (Azure AD) client secret: 3 characters, a digit, Q~, then 31-34 more.
    _SecretRule("azure_client_secret", ("q~",),
                re.compile(rb"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])"),
                back=4, boundary=False),
    _SecretRule("azure_storage_key", ("accountkey=",),
                re.compile(rb"(?i:AccountKey)=([A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])"), group=1),
    _SecretRule("google_oauth_secret", ("gocspx-",), re.compile(rb"GOCSPX-[A-Za-z0-9_-]{28}(?![A-Za-z0-9_-])")),
    _SecretRule("alibaba_access_key_id", ("ltai",), re.compile(rb"LTAI[A-Za-z0-9]{12,20}(?![A-Za-z0-9])")),
    _SecretRule("openai_api_key", ("sk-proj-", "sk-svcacct-", "sk-admin-"),
                re.compile(rb"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}(?![A-Za-z0-9_-])")),
    # Any OpenAI key holds T3BlbkFJ ("OpenAI" in base64) in its middle, whatever stands after sk- (a
    # project, a service account's name).
    _SecretRule("openai_api_key", ("t3blbkfj",),
                re.compile(rb"sk-[A-Za-z0-9_-]{20,160}?T3BlbkFJ[A-Za-z0-9_-]{20,160}(?![A-Za-z0-9_-])"), back=164,
                head=b"sk-"),
    _SecretRule("anthropic_api_key", ("sk-ant-",),
                re.compile(rb"sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,120}(?![A-Za-z0-9_-])")),
    _SecretRule("huggingface_token", ("hf_",), re.compile(rb"hf_[A-Za-z]{34}(?![A-Za-z0-9])")),
    _SecretRule("atlassian_api_token", ("atatt3",), re.compile(rb"ATATT3[A-Za-z0-9_=-]{150,250}(?![A-Za-z0-9_=-])")),
    _SecretRule("databricks_token", ("dapi",), re.compile(rb"dapi[a-f0-9]{32}(?:-[0-9])?(?![A-Za-z0-9])")),
    _SecretRule("vault_token", ("hvs.", "hvb."), re.compile(rb"hv[sb]\.[A-Za-z0-9_-]{90,200}(?![A-Za-z0-9_-])")),
    _SecretRule("square_token", ("sq0atp-", "sq0csp-"), re.compile(rb"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}(?![A-Za-z0-9_-])")),
    _SecretRule("postman_api_key", ("pmak-",), re.compile(rb"PMAK-[a-f0-9]{24}-[a-f0-9]{34}(?![A-Za-z0-9])")),
    _SecretRule("grafana_token", ("glsa_",), re.compile(rb"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}(?![A-Za-z0-9])")),
    _SecretRule("newrelic_api_key", ("nrak-",), re.compile(rb"NRAK-[A-Z0-9]{27}(?![A-Za-z0-9])")),
    _SecretRule("facebook_access_token", ("eaacedeose0cba",), re.compile(rb"EAACEdEose0cBA[0-9A-Za-z]{20,255}(?![0-9A-Za-z])")),
    _SecretRule("mailchimp_api_key", ("-us",), re.compile(rb"[0-9a-f]{32}-us[0-9]{1,2}(?![A-Za-z0-9])"), back=32),
    _SecretRule("jwt", ("eyj",),
                re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-])")),
    # Every PEM key block but a public one: PRIVATE KEY in all its forms, and the headers some tools write
    # for a private key without the word (BEGIN RSA KEY).
    _SecretRule("private_key", ("-----begin",),
                re.compile(rb"-----BEGIN ((?:(?!PUBLIC )[A-Z0-9]+ )+)KEY( BLOCK|)-----(?:(?!-----).){16,20000}?"
                           rb"-----END \1KEY\2-----", re.DOTALL), boundary=False),
    _SecretRule("private_key", ("putty-user-key-file-",),
                re.compile(rb"PuTTY-User-Key-File-[0-9]: [^\r\n]{1,64}\r?\n(?:[^\r\n]{0,256}\r?\n){1,200}?"
                           rb"Private-(?:MAC|Hash): [0-9a-fA-F]{20,128}"), boundary=False),
    # Keyword rules: a token named by the setting it is assigned to (``HEROKU_API_KEY=...``,
    # ``oauth_token: ...``, ``_authToken=...``), the service taken from the name or the lines above.
    # The value follows an assignment, ``ENV NAME value``, or is an XML element's text; it may be in
    # braces (Jenkins' {...} secrets) and hold dots (a JWT, an Azure secret).
    _SecretRule("api_token", ("api_key", "apikey", "api-key", "api.key", "api_secret", "api-secret", "api.secret",
                              "client_secret", "client-secret", "client.secret", "token"),
                re.compile(rb"(?i:api[_.-]?(?:key|secret)s?|tokens?|client[_.-]?secret)"
                           rb"(?:" + _ASSIGN_OR_SPACE + rb"|(?P<xml>" + _XML_ATTRIBUTES + rb">)[ \t]*)"
                           rb"(?P<brace>\{)?(?P<value>[A-Za-z0-9_\-/+=~:.]{11,255}[A-Za-z0-9_\-/+=~:])(?(brace)\})"
                           rb"(?=[\"'`\s,;}\]<]|$)"),
                group="value", keyword=True, boundary=False),
    # npm's ``_auth`` and Docker's ``"auth"``: base64 of user:password for a package registry.
    _SecretRule("registry_auth", ("_auth", '"auth"'),
                re.compile(rb"(?:_auth|\"auth\")" + _ASSIGN + rb"([A-Za-z0-9+/]{8,1024}={0,2})(?![A-Za-z0-9+/=])"),
                group=1, check=_is_basic_auth, keyword=True),
)
#: Service names that type a keyword rule's token (``HEROKU_API_KEY`` -> heroku_api_key).
_SERVICES = {
    b"github": "github_token", b"gitlab": "gitlab_token", b"heroku": "heroku_api_key",
    b"mailchimp": "mailchimp_api_key", b"digitalocean": "digitalocean_token", b"tugboat": "digitalocean_token",
    b"npm": "npm_token", b"slack": "slack_token", b"stripe": "stripe_key", b"sendgrid": "sendgrid_api_key",
    b"twilio": "twilio_api_key", b"datadog": "datadog_api_key", b"shopify": "shopify_token",
    b"dropbox": "dropbox_token", b"travis": "travis_token", b"circleci": "circleci_token",
}
#: How far before a keyword rule's name the service may be named (``github.com:`` a few lines above).
_SERVICE_LOOKBACK = 160

#: What the scanner claims to find, for the documentation and the evaluation: the ``secret_type`` of a
#: secret hit, or the ``secret_type`` (line format) of a credential hit -> (kind, what it is). The kinds:
#: ``cloud_key``, ``saas_token``, ``private_key``, ``credential`` (a corporate account or a corporate
#: host's login with its password) and ``card`` (a Luhn-valid number, in the brand's BIN ranges).
CLAIMED_TYPES: dict[str, tuple[str, str]] = {
    "aws_access_key_id": ("cloud_key", "AWS access key id (AKIA/ASIA/ABIA/ACCA/A3T + 16)"),
    "aws_secret_access_key": ("cloud_key", "the value of aws_secret_access_key / secret_access_key / secret_key / "
                                           "aws_sec_key (AWS, s3cmd, boto, S3-compatible stores; also Dockerfile "
                                           "ENV NAME value), 16-128 base64 characters"),
    "aws_session_token": ("cloud_key", "AWS session token: the value of aws_session_token / aws_security_token / "
                                       "aws_token, 100+ base64 characters"),
    "google_api_key": ("cloud_key", "Google API key (AIza + 35)"),
    "digitalocean_token": ("cloud_key", "DigitalOcean personal, OAuth or refresh token (dop_v1_/doo_v1_/dor_v1_)"),
    "github_token": ("saas_token", "GitHub token: ghp_/gho_/ghu_/ghs_/ghr_, github_pat_ (also glued to a word "
                                   "when it has the fine-grained 22_59 layout), or a classic 40-hex token in a "
                                   "setting that names GitHub"),
    "gitlab_token": ("saas_token", "GitLab personal, pipeline-trigger or deploy token (glpat-/glptt-/gldt-)"),
    "slack_token": ("saas_token", "Slack bot, user or app token (xoxb-/xoxp-/xoxa-/xoxo-/xoxs-/xoxr-)"),
    "slack_webhook": ("saas_token", "Slack incoming-webhook URL (hooks.slack.com/services/workspace/hook/secret)"),
    "stripe_key": ("saas_token", "Stripe secret or restricted key (sk_/rk_, live or test)"),
    "heroku_api_key": ("saas_token", "Heroku API key (HRKU-, or a key in a setting that names Heroku)"),
    "mailchimp_api_key": ("saas_token", "Mailchimp API key (32 hex + -usNN)"),
    "npm_token": ("saas_token", "npm access token (npm_, or .npmrc's _authToken)"),
    "pypi_token": ("saas_token", "PyPI upload token (pypi-AgEIcHlwaS5vcmc...)"),
    "sendgrid_api_key": ("saas_token", "SendGrid API key (SG.x.y)"),
    "shopify_token": ("saas_token", "Shopify access or shared secret (shpat_/shpca_/shppa_/shpss_)"),
    "twilio_api_key": ("saas_token", "a token in a setting that names Twilio"),
    "datadog_api_key": ("saas_token", "a token in a setting that names Datadog"),
    "dropbox_token": ("saas_token", "a token in a setting that names Dropbox"),
    "travis_token": ("saas_token", "a token in a setting that names Travis CI"),
    "circleci_token": ("saas_token", "a token in a setting that names CircleCI"),
    "registry_auth": ("saas_token", "package-registry basic auth: npm _auth or Docker \"auth\", base64 of user:password "
                                    "in text"),
    "api_token": ("saas_token", "a token assigned to a setting named *api_key / *api.key, *token, *api_secret or "
                                "*client_secret (=, :, ENV NAME value, or an XML element; 16+ characters of two "
                                "kinds, or 16+ digits; an unquoted value without a digit only on a configuration "
                                "line and when it is no name made of words)"),
    "azure_storage_key": ("cloud_key", "Azure storage account key (AccountKey=... in a connection string)"),
    "azure_client_secret": ("cloud_key", "Microsoft Entra ID (Azure AD) client secret (3 characters, a digit, Q~, "
                                         "31-34 more)"),
    "google_oauth_secret": ("cloud_key", "Google OAuth client secret (GOCSPX-)"),
    "alibaba_access_key_id": ("cloud_key", "Alibaba Cloud access key id (LTAI)"),
    "databricks_token": ("cloud_key", "Databricks personal access token (dapi + 32 hex)"),
    "vault_token": ("cloud_key", "HashiCorp Vault service or batch token (hvs./hvb.)"),
    "openai_api_key": ("saas_token", "OpenAI API key (sk-proj-/sk-svcacct-/sk-admin-, or any sk-...T3BlbkFJ...)"),
    "anthropic_api_key": ("saas_token", "Anthropic API key (sk-ant-api03-)"),
    "huggingface_token": ("saas_token", "Hugging Face access token (hf_)"),
    "atlassian_api_token": ("saas_token", "Atlassian API token (ATATT3)"),
    "square_token": ("saas_token", "Square access token or OAuth secret (sq0atp-/sq0csp-)"),
    "postman_api_key": ("saas_token", "Postman API key (PMAK-)"),
    "grafana_token": ("saas_token", "Grafana service-account token (glsa_)"),
    "newrelic_api_key": ("saas_token", "New Relic user API key (NRAK-)"),
    "facebook_access_token": ("saas_token", "Facebook access token (EAACEdEose0cBA)"),
    "discord_webhook": ("saas_token", "Discord webhook URL"),
    "telegram_bot_token": ("saas_token", "Telegram bot token (bot id:AA + 33)"),
    "jwt": ("saas_token", "JSON Web Token (eyJ...eyJ...signature)"),
    "brand_api_key": ("saas_token", "a key with one of the brand profile's secret_prefixes"),
    "private_key": ("private_key", "PEM private key (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP; any PEM KEY "
                                   "block but a public one, such as BEGIN RSA KEY) or PuTTY .ppk"),
    "email:password": ("credential", "combo line e-mail:password (also ; and | and tab) of a corporate domain"),
    "email;password": ("credential", "combo line e-mail;password of a corporate domain"),
    "email|password": ("credential", "combo line e-mail|password of a corporate domain"),
    "email\tpassword": ("credential", "combo line e-mail<TAB>password of a corporate domain"),
    "url:login:password": ("credential", "url:login:password (or | ; space, URL quoted or not): a corporate "
                                         "account, or any login on a corporate host"),
    "url_userinfo": ("credential", "scheme://user:password@host with a corporate host or user e-mail"),
    "code_literal": ("credential", "login('user@corp', 'password')-style literals after a login/auth call"),
    "stealer_log": ("credential", "stealer-log record (URL/Host, USER/Login, PASS/Password and the parsers' "
                                  "other names, one per line or |-separated) of a corporate account or host"),
    "config_record": ("credential", "configuration record (.env, .netrc, JSON, YAML, INI, XML) with a corporate "
                                    "host or account and a password setting"),
    "card": ("card", "Luhn-valid card number in the brand's BIN ranges (others only on request)"),
}

# Card numbers: 13-19 digits, or 4-4-4-4(-3) / 4-6-5 groups with one separator, not inside a
# longer run of letters and digits. The first digit is matched before the look-behind so that
# the engine's fast first-character scan applies.
_CARD = re.compile(
    rb"[2-6](?<![0-9A-Za-z][2-6])"
    rb"(?:[0-9]{12,18}|[0-9]{3}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{4}(?:(?P=s)[0-9]{3})?"
    rb"|[0-9]{3}(?P<a>[ -])[0-9]{6}(?P=a)[0-9]{5})(?![0-9A-Za-z])"
)
_EXPIRY = re.compile(rb"\D{0,6}(?:0[1-9]|1[0-2])\s?/\s?(?:[0-9]{4}|[0-9]{2})(?![0-9])")
_ASSIGNMENT = re.compile(rb"[A-Za-z0-9_.\-\"']\s*[:=]\s*[\"']?$")

_EMAIL = re.compile(r"(?<![\w.%+\-])([\w.%+\-]{1,64})@((?:[\w\-]{1,63}\.)+[\w\-]{2,63})")
_AFTER_EMAIL = re.compile(r"[ \t]*([:;|\t])[ \t]*(\S{1,%d})(?!\S)" % MAX_PASSWORD)
_URL_PREFIX = re.compile(r"^\s*[\"']?((?:https?|ftp|android)://[^\s\"']+?)[\"']?[ \t]*[:;|\t ][ \t]*$", re.I)
_URL_LOGIN = re.compile(
    r"^\s*[\"']?(?P<url>(?:https?|ftp)://[^\s:;|/\"']+(?::\d{1,5})?(?:/[^\s:;|\"']*)?)[\"']?[ \t]*[ \t:;|][ \t]*"
    r"(?P<login>[^\s:;|]{1,128})[ \t]*[ \t:;|][ \t]*(?P<pw>\S{1,%d})[ \t]*$" % MAX_PASSWORD, re.I)
# URL user info: the user may itself be an e-mail address (git's credential store writes it raw), so
# the user runs to the first ':' and the password to the last '@' before the host.
_USERINFO = re.compile(r"\b[a-z][a-z0-9+.\-]{1,15}://([^\s:/\"'<>]{1,128}?):([^\s/\"'<>]{1,%d})@([\w\-]+(?:\.[\w\-]+)+)"
                       r"(?=[:/\s\"'<>?#]|$)" % MAX_PASSWORD, re.I)
# A quoted e-mail address and a quoted password as the next argument: login('user@corp', 'secret').
_CODE_LITERAL = re.compile(r"""\s*,\s*(["'])([^"'\s]{1,%d})\1""" % MAX_PASSWORD)
#: What comes before such a pair: a login call or an auth tuple (``conn.login(``, ``auth=(``).
_LOGIN_CALL = re.compile(r"(?i:log_?[io]n|sign_?in|auth\w*|connect|credentials?)\s*(?:\(|=\s*\(?|:\s*\(?)\s*$")
_AFTER_URL_EMAIL_SPACE = re.compile(r"[ \t]+(\S{1,%d})[ \t]*$" % MAX_PASSWORD)

# Stealer-log fields: the names stealer-log parsers document (lexfo/stealer-parser, the RedLine,
# Raccoon, Vidar, StealC and Meta parsers), compared without case, spaces, '_' or '-', and with
# leet digits read as letters (UR1, U53RN4M3, P455W0RD).
_LEET = str.maketrans("013457", "oleast")
_STEALER_FIELDS = {
    **dict.fromkeys(("url", "host", "hostname", "website", "site", "origin", "link"), "url"),
    **dict.fromkeys(("user", "username", "login", "userlogin", "email"), "user"),
    **dict.fromkeys(("pass", "password", "userpassword", "pwd"), "pass"),
    **dict.fromkeys(("soft", "software", "browser", "application", "storage", "profile"), "soft"),
}
_FIELD_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9 _-]{0,15}?)\s*[:=]\s?(.*?)\s*$")
_PIPE = re.compile(r"\s*\|\s*")
_FIELD_PREFIX = re.compile(rb"\s*([A-Za-z0-9][A-Za-z0-9 _-]{0,15}?)\s*[:=]")
#: A line that may hold a setting: a name and an assignment at its start, XML, JSON, a URL or PHP's define().
_SETTING_PREFIX = re.compile(rb"\s*(?:export\s+|\$)?[\"']?[A-Za-z_][\w.\-]{0,63}[\"']?\s*(?:[:=]|\s)"
                             rb"|.*?(?:<|define|\":|':|://)")

# Configuration records: setting names by what they hold, compared lowercased without '_', '-', '.'.
_HOST_NAMES = ("host", "hostname", "server", "url", "machine", "datasource", "address")
_USER_NAMES = ("user", "username", "login", "nick", "email", "userid")
_PASS_NAMES = ("pass", "password", "passwd", "pwd", "passphrase")
_KEY_VALUE = re.compile(r"""^\s*(?:export\s+|\$)?["']?([A-Za-z_][\w.\-]{0,63})["']?\s*(?:=>|:=|:|=)\s*(.*?)\s*$""")
_DEFINE = re.compile(r"""define\(\s*["'](\w{1,64})["']\s*,\s*(["'])(.*?)\2""")
_XML_ELEMENT = re.compile(r"<(\w{1,64})(?:\s[^>]*)?>([^<]*)</\1>")
_XML_ATTRIBUTE = re.compile(r"""(?<![\w\-])([A-Za-z_][\w\-]{0,63})\s*=\s*(["'])(.*?)\2""")
_JSON_PAIR = re.compile(r"""(["'])([A-Za-z_][\w.\-]{0,63})\1\s*:\s*(["'])((?:(?!\3)[^\\]|\\.){0,256})\3""")
_XML_KEY_VALUE = re.compile(r"""\b(?:key|name)\s*=\s*(["'])([\w.\-: ]{1,64})\1\s+value\s*=\s*(["'])(.*?)\3""", re.I)
_CONNECTION_PAIR = re.compile(r"(?:^|;)\s*([A-Za-z][\w .\-]{0,30}?)\s*=\s*([^;]*)")
_URL_HOST = re.compile(r"[a-z][a-z0-9+.\-]{1,15}://(?:[^@/\s\"'<>]*@)?\[?([A-Za-z0-9][\w.\-]*\.[A-Za-z]{2,63})(?=[:/?#;\s\"'<>\]]|$)", re.I)
_QUERY_PAIR = re.compile(r"[?&;]([A-Za-z_][\w.\-]{0,30})=([^&;\s\"'#<>]{1,256})")
_SPACED = re.compile(r"""^\s*(machine|login|password|account|hostname|username|user|host)\s+(["']?)(\S+?)\2\s*$""", re.I)
_NETRC_PAIR = re.compile(r"\b(machine|login|password|account)\s+(\S+)")
_NOT_A_PASSWORD = frozenset({"", "true", "false", "null", "none", "nil", "yes", "no", "0", "1", "undefined"})
#: How many lines around a corporate host or account a configuration record is read in.
RECORD_LINES = 16


def _parse_bin_ranges(ranges: Iterable[str]) -> list[tuple[str, str, str]]:
    out = []
    for r in ranges:
        low, _, high = r.partition("-")
        out.append((low, high or low, r))
    return out


# --------------------------------------------------------------------------- the scanner


class LeakScanner:
    """Scans dumps for one brand's leaks. Build once per brand (the automaton), reuse for every dump."""

    def __init__(self, key: HmacKey, *, corporate_domains: Iterable[str], card_bin_ranges: Iterable[str] = (),
                 secret_prefixes: Iterable[str] = (), other_cards: bool = True, chunk_size: int = CHUNK_SIZE,
                 max_line: int = MAX_LINE, overlap: int = WINDOW_OVERLAP):
        if not overlap < max_line:
            raise ValueError("the window overlap must be smaller than the longest line")
        self.key = key
        #: Report Luhn-valid cards outside the brand's BIN ranges too (as ``brand=False`` hits).
        self.other_cards = other_cards
        self.chunk_size = chunk_size
        self.max_line = max_line
        self.overlap = overlap
        # Longest first, so corp.kestrava.com wins over kestrava.com.
        self.domains: list[str] = sorted({f for d in corporate_domains for f in _domain_forms(d)},
                                         key=lambda d: (-len(d), d))
        self.bins = _parse_bin_ranges(card_bin_ranges)
        rules = list(_BUILTIN_RULES)
        for prefix in dict.fromkeys(secret_prefixes):
            rules.append(_SecretRule("brand_api_key", (prefix.lower(),),
                                     re.compile(re.escape(prefix.encode("utf-8")) + rb"[A-Za-z0-9_\-]{8,200}(?![A-Za-z0-9_\-])"),
                                     brand=True, label=prefix, boundary=prefix[:1].isalnum()))
        self.rules = rules
        self.automaton = ahocorasick.Automaton()
        patterns: dict[str, list] = {}
        for domain in self.domains:
            for encoding in ("utf-8", "cp1252"):
                try:
                    needle = domain.encode(encoding).lower().decode("latin-1")
                except UnicodeEncodeError:
                    continue
                patterns.setdefault(needle, []).append(("domain", domain))
        for rule in rules:
            for anchor in rule.anchors:
                patterns.setdefault(anchor.encode("utf-8").lower().decode("latin-1"), []).append(("secret", rule))
        for needle, targets in patterns.items():
            self.automaton.add_word(needle, (len(needle), tuple(targets)))
        self.automaton.make_automaton()

    @classmethod
    def from_profile(cls, profile: BrandProfile, key: HmacKey, **kwargs) -> LeakScanner:
        return cls(key, corporate_domains=profile.corporate_email_domains, card_bin_ranges=profile.card_bin_ranges,
                   secret_prefixes=profile.secret_prefixes, **kwargs)

    # ----------------------------------------------------------------- sources

    def scan(self, source: str | bytes | bytearray | os.PathLike | BinaryIO | Iterable[bytes]) -> Iterator[LeakHit]:
        """Hits in ``source``, in order: ``str`` is dump *text*; a :class:`~pathlib.Path` is a file;
        a binary file object is read in chunks; any other iterable yields byte chunks."""
        if isinstance(source, str):
            return self.scan_text(source)
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = memoryview(source)
            return self._scan_chunks(bytes(data[i:i + self.chunk_size]) for i in range(0, len(data), self.chunk_size))
        if isinstance(source, os.PathLike):
            return self.scan_path(source)
        if hasattr(source, "read"):
            return self._scan_chunks(self._read_chunks(cast(BinaryIO, source)))  # hasattr does not narrow
        return self._scan_chunks(source)

    def scan_text(self, text: str) -> Iterator[LeakHit]:
        step = self.chunk_size
        return self._scan_chunks(text[i:i + step].encode("utf-8", "surrogatepass") for i in range(0, len(text), step))

    def scan_path(self, path: str | os.PathLike) -> Iterator[LeakHit]:
        """Hits in the file at ``path``; ``-`` is standard input."""
        if str(path) == "-":
            yield from self._scan_chunks(self._read_chunks(sys.stdin.buffer))
            return
        with open(Path(path), "rb") as fh:
            yield from self._scan_chunks(self._read_chunks(fh))

    def _read_chunks(self, fh: BinaryIO) -> Iterator[bytes]:
        while chunk := fh.read(self.chunk_size):
            yield chunk

    # ----------------------------------------------------------------- blocks and windows

    def _scan_chunks(self, chunks: Iterable[bytes]) -> Iterator[LeakHit]:
        max_line, overlap = self.max_line, self.overlap
        buf = b""
        base = 0        # offset of buf[0] in the dump
        line_no = 1     # line number of buf[0]
        in_long_line = False
        chunks = iter(chunks)
        # One chunk is read ahead, so that the block holding the end of the dump is known to be the
        # last one and its last line is read whole with the lines before it.
        ahead = next(chunks, None)
        eof = False
        while not eof:
            chunk, ahead = ahead, None
            if chunk is None:
                eof = True
            else:
                # A source may hand over anything: never let one chunk exceed the bound.
                if len(chunk) > self.chunk_size:
                    chunks = _chain_split(chunk, self.chunk_size, chunks)
                    ahead = next(chunks, None)
                    continue
                buf += chunk
                ahead = next(chunks, None)
                eof = ahead is None
            while buf:
                if in_long_line:
                    end = buf.find(b"\n")
                    if end != -1 or (eof and len(buf) <= max_line):
                        end = len(buf) if end == -1 else end
                        yield from self._scan_piece(buf[:end], base, line_no, report_below=end, lines=False)
                        buf, base, line_no, in_long_line = buf[end + 1:], base + end + 1, line_no + 1, False
                        continue
                    if len(buf) >= max_line:
                        step = max_line - overlap
                        yield from self._scan_piece(buf[:max_line], base, line_no, report_below=step, lines=False)
                        buf, base = buf[step:], base + step
                        continue
                    break
                nl = buf.rfind(b"\n")
                if nl == -1:
                    if len(buf) >= max_line:
                        in_long_line = True
                        continue
                    if eof:
                        yield from self._scan_piece(buf, base, line_no, report_below=len(buf), lines=True)
                        buf = b""
                    break
                cut = nl + 1
                if eof and len(buf) - cut < max_line:
                    # The dump's last line is whole even without a final newline: it goes in the same
                    # block as the lines before it, so that a private key or a stealer record ending
                    # the dump is read with its last line.
                    cut = len(buf)
                if not eof:
                    cut = self._holdback(buf, cut)
                    if cut == 0:
                        if len(buf) < max_line:
                            break
                        cut = nl + 1
                block = buf[:cut]
                yield from self._scan_piece(block, base, line_no, report_below=cut, lines=True)
                line_no += block.count(b"\n")
                buf, base = buf[cut:], base + cut
                if len(buf) < max_line and not eof:
                    break

    def _holdback(self, buf: bytes, cut: int) -> int:
        """Where to end a block so that a private key or a stealer record at its end is not cut."""
        for begin, ends in ((b"-----BEGIN", (b"-----END",)), (b"PuTTY-User-Key-File-", (b"Private-MAC", b"Private-Hash"))):
            start = buf.rfind(begin, max(0, cut - MAX_HOLDBACK), cut)
            if start != -1 and all(buf.find(end, start, cut) == -1 for end in ends):
                cut = buf.rfind(b"\n", 0, start) + 1
        # A run of URL:/USER:/PASS: lines touching the end of the block goes to the next block whole.
        for _ in range(12):
            if cut == 0:
                break
            line_start = buf.rfind(b"\n", 0, cut - 1) + 1
            if not _is_field_line(buf[line_start:cut]):
                break
            cut = line_start
        return cut

    def _scan_piece(self, piece: bytes, base: int, line_no: int, *, report_below: int, lines: bool) -> Iterator[LeakHit]:
        """Hits in ``piece``: a block of whole lines (``lines``) or a window of one long line.
        Only hits starting before ``report_below`` are reported (the rest is in the next window)."""
        found: dict[tuple[int, str], LeakHit] = {}
        credential_lines: set[int] = set()
        secret_starts: dict[int, list[_SecretRule]] = {}
        lowered = piece.lower().decode("latin-1")
        for end, (length, targets) in self.automaton.iter(lowered):
            start = end - length + 1
            for kind, target in targets:
                if kind == "domain":
                    credential_lines.add(piece.rfind(b"\n", 0, start) + 1 if lines else 0)
                else:
                    secret_starts.setdefault(start, []).append(target)
        newlines = _LineCounter(piece, line_no) if lines else None

        def line_of(pos: int) -> int:
            return newlines.at(pos) if newlines is not None else line_no

        for keyword in (False, True):  # a keyword rule yields to a format rule that found the same value
            for start, rules in sorted(secret_starts.items()):
                if start >= report_below:
                    continue
                hit = self._secret_at(piece, start, [r for r in rules if r.keyword == keyword], base, line_of)
                if hit is not None:
                    found.setdefault((hit.offset, "secret"), hit)
        for match in _CARD.finditer(piece, 0, len(piece)):
            if match.start() >= report_below:
                break
            hit = self._card(piece, match, base, line_of)
            if hit is not None:
                found.setdefault((hit.offset, "card"), hit)
        done_records: set[int] = set()
        for line_start in sorted(credential_lines):
            if line_start >= report_below:
                continue
            line_end = piece.find(b"\n", line_start) if lines else -1
            line_end = len(piece) if line_end == -1 else line_end
            for hit in self._credentials(piece, line_start, line_end, base, line_of, lines, done_records,
                                         report_below):
                found.setdefault((hit.offset, "credential"), hit)
        yield from sorted(found.values(), key=lambda h: (h.offset, h.kind))

    # ----------------------------------------------------------------- secrets and cards

    def _secret_at(self, piece: bytes, start: int, rules: list[_SecretRule], base: int, line_of) -> LeakHit | None:
        for rule in sorted(rules, key=lambda r: not r.brand):  # a brand prefix wins over a generic rule
            if rule.back:  # the value starts up to ``back`` bytes before the anchor: tried at each of them
                match = next(filter(None, (rule.pattern.match(piece, at) for at in _starts(piece, start, rule))), None)
                if match is None:
                    continue
                begin = match.start()
            else:
                begin = start
                match = rule.pattern.match(piece, begin)
            if match is None or (rule.boundary and begin > 0 and piece[begin - 1] in _ALNUM):
                continue
            raw = match.group(rule.group)
            if rule.check is not None and not rule.check(raw):
                continue
            groups = rule.pattern.groupindex
            ident = _name_start(piece, begin)
            if "ws" in groups and match.group("ws") is not None and not _ENV_BEFORE.search(piece, max(0, ident - 16), ident):
                continue  # a name and a word after it, not a Dockerfile ENV
            name: str | None = rule.name
            if rule.name == "api_token":
                at, end = match.start(rule.group), match.end()
                if match.group("xml") is not None and not piece.startswith(b"</", end):
                    continue
                quote_at = at - 1 - (match.group("brace") is not None)
                quoted = quote_at >= 0 and piece[quote_at] in b"\"'`"
                window = max(0, ident - 80)
                literal = quoted or match.group("xml") is not None or \
                    _FLAG_BEFORE.search(piece, window, ident) is not None or (
                        _LITERAL_BEFORE.search(piece, window, ident) is not None
                        and _LITERAL_AFTER.match(piece, end) is not None)
                name = _keyword_type(piece, ident, begin, raw, quoted=quoted, literal=literal)
                if name is None:
                    continue
            value = raw.decode("ascii", "replace")
            if rule.name == "private_key":
                value = "\n".join(ln.strip() for ln in value.replace("\\n", "\n").splitlines() if ln.strip())
            value_start = match.start(rule.group)
            context = "assignment" if _ASSIGNMENT.search(piece, max(0, value_start - 64), value_start) else None
            first, last = line_of(value_start), line_of(match.end(rule.group))
            return LeakHit(kind="secret", secret=protect(value, self.key), line=first,
                           offset=base + value_start, secret_type=name, brand=rule.brand,
                           matched=rule.label, context=context, end_line=last if last != first else None)
        return None

    def _card(self, piece: bytes, match: re.Match[bytes], base: int, line_of) -> LeakHit | None:
        digits = match.group().replace(b" ", b"").replace(b"-", b"").decode("ascii")
        if not 13 <= len(digits) <= 19:
            return None
        matched = next((label for low, high, label in self.bins
                        if int(low) <= int(digits[:len(low)]) and int(digits[:len(high)]) <= int(high)), None)
        if (matched is None and not self.other_cards) or len(set(digits)) < 3 or not luhn_valid(digits):
            return None
        context = "expiry" if _EXPIRY.match(piece, match.end(), match.end() + 24) else None
        return LeakHit(kind="card", secret=protect_card(digits, self.key), line=line_of(match.start()),
                       offset=base + match.start(), matched=matched, brand=matched is not None, context=context)

    # ----------------------------------------------------------------- credentials

    def corporate_domain(self, domain: str | None) -> str | None:
        """The corporate domain ``domain`` is or is under, else None."""
        if not domain:
            return None
        domain = domain.lower().rstrip(".")
        for corp in self.domains:
            if domain == corp or domain.endswith("." + corp):
                return corp
        return None

    def _credentials(self, piece: bytes, line_start: int, line_end: int, base: int, line_of, lines: bool,
                     done_records: set[int], report_below: int) -> Iterator[LeakHit]:
        raw = piece[line_start:line_end]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if lines and _is_field_line(raw):
            run_start, fields = self._stealer_fields(piece, line_start, done_records)
            if fields is None:  # read already, from an earlier line of its run
                return
            if {"user", "pass"} <= {name for name, _, _ in fields}:
                yield from self._stealer_record(run_start, fields, base, line_of, done_records)
                return
            # A lone "url = ..." or "Host: ..." line is no stealer record: the other readers may know it.
        text, encoding = decode_line(raw)
        line = line_of(line_start)

        def offset(index: int) -> int:
            return base + line_start + _byte_index(text, encoding, index)

        taken: list[tuple[int, int]] = []
        found = 0
        m: re.Match[str] | None
        for m in (_USERINFO.finditer(text) if "://" in text else ()):
            taken.append(m.span())
            user, password = unquote(m.group(1)), unquote(m.group(2))
            corp = self.corporate_domain(m.group(3))
            if corp is None and "@" in user:
                corp = self.corporate_domain(user.rpartition("@")[2])
            if corp and line_start + m.start() < report_below:
                found += 1
                yield self._credential(user, password, line, offset(m.start(1)), corp, "url_userinfo",
                                       service=f"{text[m.start():m.start(1)]}{m.group(3)}")
        for m in _EMAIL.finditer(text):
            if any(a <= m.start() < b for a, b in taken) or line_start + m.start() >= report_below:
                continue
            corp = self.corporate_domain(m.group(2))
            if corp is None:
                continue
            prefix = _URL_PREFIX.match(text, 0, m.start()) if lines else None
            after = _AFTER_EMAIL.match(text, m.end())
            fmt = None
            if after is not None:
                sep = after.group(1)
                fmt = {":": "email:password", ";": "email;password", "|": "email|password"}.get(sep, "email\tpassword")
            elif prefix is not None:
                after = _AFTER_URL_EMAIL_SPACE.match(text, m.end())   # url login password, space-separated
            elif m.start() > 0 and text[m.start() - 1] in "\"'" and _LOGIN_CALL.search(text, 0, m.start() - 1):
                after = _CODE_LITERAL.match(text, m.end() + 1)
                fmt = "code_literal" if after and text[m.end():m.end() + 1] == text[m.start() - 1] else None
                after = after if fmt else None
            if after is None:
                continue
            password = after.group(after.lastindex or 1)
            if _EMAIL.fullmatch(password):
                continue
            service = prefix.group(1) if prefix else None
            if prefix:
                fmt = "url:login:password"
            found += 1
            yield self._credential(m.group(0), password, line, offset(m.start()), corp, fmt or "email:password",
                                   service=service)
        if lines and "://" in text:
            m = _URL_LOGIN.match(text)
            if m and "@" not in m.group("login"):
                host = urlsplit(m.group("url")).hostname
                corp = self.corporate_domain(host)
                if corp:
                    found += 1
                    yield self._credential(m.group("login"), m.group("pw"), line, offset(m.start("login")), corp,
                                           "url:login:password", service=m.group("url"), email=False)
        if lines and not found:  # a line that is a credential by itself is no setting of a record
            yield from self._config_record(piece, line_start, base, line_of, done_records)

    def _credential(self, user: str, password: str, line: int, offset: int, corp: str, fmt: str, *,
                    service: str | None = None, email: bool | None = None, end_line: int | None = None) -> LeakHit:
        is_email = ("@" in user) if email is None else email
        account = user.lower() if is_email else user
        domain = account.rpartition("@")[2] if is_email else (_host(service) if service else corp)
        return LeakHit(kind="credential", secret=protect(password, self.key), line=line, offset=offset,
                       user=account, domain=domain, secret_type=fmt, service=service, matched=corp, brand=True,
                       end_line=end_line if end_line != line else None)

    def _stealer_fields(self, piece: bytes, line_start: int,
                        done_records: set[int]) -> tuple[int, list[tuple[str, str, int]] | None]:
        """Where the run of stealer-log field lines around ``line_start`` starts, and its fields as
        (url/user/pass/soft, value, offset in ``piece``); None when the run was read already."""
        run_start = line_start
        for _ in range(12):
            if run_start == 0:
                break
            prev = piece.rfind(b"\n", 0, run_start - 1) + 1
            if not _is_field_line(piece[prev:run_start - 1]):
                break
            run_start = prev
        if run_start in done_records:
            return run_start, None
        fields: list[tuple[str, str, int]] = []
        pos = run_start
        for _ in range(64):
            end = piece.find(b"\n", pos)
            end = len(piece) if end == -1 else end
            text, encoding = decode_line(piece[pos:end].rstrip(b"\r"))
            found = _line_fields(text)
            if not found:
                break
            fields.extend((name, value, pos + _byte_index(text, encoding, index)) for name, value, index in found)
            if end >= len(piece):
                break
            pos = end + 1
        return run_start, fields

    def _stealer_record(self, run_start: int, fields: list[tuple[str, str, int]], base: int, line_of,
                        done_records: set[int]) -> Iterator[LeakHit]:
        """The credentials of a run of stealer-log fields, split into records (each run is read once)."""
        if run_start in done_records:
            return
        done_records.add(run_start)
        # The URL comes first in most stealers' records and last in some ("username / password / website").
        url_first = next((name for name, _, _ in fields if name != "soft"), "url") == "url"
        records: list[dict[str, tuple[str, int]]] = []
        current: dict[str, tuple[str, int]] = {}
        for name, value, at in fields:
            if name in current or (url_first and name == "url" and any(k != "soft" for k in current)):
                records.append(current)
                current = {}
            current[name] = (value, at)
            if not url_first and name == "url":
                records.append(current)
                current = {}
        records.append(current)
        for record in records:
            if "user" not in record or "pass" not in record or not record["pass"][0]:
                continue
            user, user_at = record["user"]
            password, pass_at = record["pass"]
            url = record.get("url", ("", 0))[0] or None
            if " " in password or len(password) > MAX_PASSWORD or not user:
                continue
            if "@" in user:
                corp = self.corporate_domain(user.rpartition("@")[2])
            else:
                corp = self.corporate_domain(_host(url))
            if corp:
                last = max(at for _, at in record.values())
                yield self._credential(user, password, line_of(user_at), base + user_at, corp, "stealer_log",
                                       service=url, email="@" in user, end_line=line_of(last))

    def _config_record(self, piece: bytes, line_start: int, base: int, line_of,
                       done_records: set[int]) -> Iterator[LeakHit]:
        """The password settings of the configuration record whose host or account at ``line_start`` is
        corporate: the record runs from its host setting to the next one, within the lines around it
        that no blank line separates (a JSON object, an XML element, a block of an ``.env`` file)."""
        trigger = self._record_line(piece, line_start)
        if trigger is None:
            return
        corporate = [f for f in trigger if f[3]]
        if not corporate:
            return
        window = [(line_start, trigger)]
        pos = line_start
        for _ in range(RECORD_LINES):                      # lines above, up to a blank line
            if pos == 0:
                break
            prev = piece.rfind(b"\n", 0, pos - 1) + 1
            if not piece[prev:pos - 1].strip():
                break
            window.insert(0, (prev, self._record_line(piece, prev) or []))
            pos = prev
        pos = line_start
        for _ in range(RECORD_LINES):                      # lines below, up to a blank line
            end = piece.find(b"\n", pos)
            if end == -1 or end + 1 >= len(piece):
                break
            pos = end + 1
            nxt = piece.find(b"\n", pos)
            if not piece[pos:len(piece) if nxt == -1 else nxt].strip():
                break
            window.append((pos, self._record_line(piece, pos) or []))
        here = next(i for i, (at, _) in enumerate(window) if at == line_start)
        hosts = [i for i, (_, fs) in enumerate(window) if any(f[0] == "host" for f in fs)]
        first = here if here in hosts else max((i for i in hosts if i < here), default=0)
        last = min((i for i in hosts if i > first), default=len(window))
        record = [f for _, fs in window[first:last] for f in fs]
        users = [f for f in record if f[0] == "user" and f[2]]
        user = next((f for f in corporate if f[0] == "user"), None) or \
            next((f for f in users if "@" in f[2]), None) or (users[0] if users else None)
        if user is None:
            return
        host = next((f for f in record if f[0] == "host" and f[3]), None) or \
            next((f for f in record if f[0] == "host"), None)
        corp = corporate[0][3]
        assert corp is not None, "corporate holds only settings with a corporate domain"
        for cls, at, value, _ in record:
            if cls != "pass" or at in done_records or not _password_ok(value):
                continue
            done_records.add(at)
            first_line, last_line = sorted((line_of(at), line_of(user[1])))
            yield self._credential(user[2], value, first_line, base + at, corp, "config_record",
                                   service=host[2] if host else None, end_line=last_line)

    def _record_line(self, piece: bytes, line_start: int) -> list[tuple[str, int, str, str | None]] | None:
        """The settings on one line as (host/user/pass, offset of the value in ``piece``, value, corporate
        domain the value is or is at); None when the line holds no setting at all."""
        end = piece.find(b"\n", line_start)
        raw = piece[line_start:len(piece) if end == -1 else end].rstrip(b"\r")
        if len(raw) > 4096 or _SETTING_PREFIX.match(raw) is None:
            return None
        text, encoding = decode_line(raw)
        out = []
        for cls, value, index in _config_fields(text):
            corp = None
            if cls == "host":
                corp = self.corporate_domain(_host(value))
            elif cls == "user" and "@" in value:
                corp = self.corporate_domain(value.rpartition("@")[2])
            out.append((cls, line_start + _byte_index(text, encoding, index), value, corp))
        return out or None


def _starts(piece: bytes, anchor: int, rule: _SecretRule) -> Iterator[int]:
    """Where a rule known by its middle may start, farthest first (the longest value wins): up to
    ``rule.back`` bytes before its anchor, and only where its ``head`` stands when it has one."""
    low = max(0, anchor - rule.back)
    if not rule.head:
        yield from range(low, anchor + 1)
        return
    at = piece.find(rule.head, low, anchor + 1)
    while at != -1:
        yield at
        at = piece.find(rule.head, at + 1, anchor + 1)


def _name_start(piece: bytes, begin: int) -> int:
    """Where the setting name holding ``begin`` (``HEROKU_API_KEY``, ``spring.api.key``) starts."""
    ident = begin
    while ident > 0 and begin - ident < 64 and piece[ident - 1] in _IDENT:
        ident -= 1
    return ident


def _keyword_type(piece: bytes, ident: int, begin: int, value: bytes, *, quoted: bool, literal: bool) -> str | None:
    """The type of a token that a setting's name (``HEROKU_API_KEY``, ``oauth_token``, from ``ident`` to its
    keyword at ``begin``) says is one, or None when the value does not look like a token: a word, a reference, a constant's or a
    type's name, a dotted path (``self.token2.value``). In code an unquoted word is a name, so an unquoted
    value must hold a digit, unless the line is a configuration setting (``literal``: YAML, ``.env``, shell
    ``export``, Dockerfile ``ENV``, an XML element) and the value is no name made of words."""
    digits = sum(1 for c in value if 48 <= c <= 57)
    if _PLACEHOLDER.search(value) or b"://" in value or re.fullmatch(rb"[A-Z][A-Z0-9_]*", value):
        return None
    if not quoted and not digits and (not literal or _wordy(value)):
        return None
    if b"." in value and all(re.fullmatch(rb"[A-Za-z_]\w*", part) and _wordy(part) for part in value.split(b".")):
        return None
    # All digits: a numeric key (JSON numbers), unless it repeats a few digits as counters and dates do.
    numeric = digits == len(value) >= 16 and len(set(value)) >= 6
    context = piece[max(0, ident - _SERVICE_LOOKBACK):begin].lower()
    service = max(((context.rfind(word), kind) for word, kind in _SERVICES.items()), default=(-1, ""))
    if service[0] != -1:
        return service[1] if numeric or _looks_random(value, 12) else None
    return "api_token" if numeric or _looks_random(value, 16) else None


def _line_fields(text: str) -> list[tuple[str, str, int]]:
    """The stealer-log fields of a line as (url/user/pass/soft, value, index of the value): one field, or
    several separated by ``|`` (``URL: ... | USER: ... | PASS: ...``); empty when it is no field line."""
    parts = [(m.start(), m.end()) for m in _PIPE.finditer(text)]
    spans = [(a, b) for a, b in zip([0] + [e for _, e in parts], [s for s, _ in parts] + [len(text)])]
    out = []
    for a, b in spans:
        field = _stealer_field(text[a:b])
        if field is not None:
            out.append((field[0], field[1], a + field[2]))
        elif out:  # a '|' inside a value: the value runs on to the next field
            name, _, at = out[-1]
            out[-1] = (name, text[at:b].rstrip(), at)
        else:
            return []
    return out


def _stealer_field(text: str) -> tuple[str, str, int] | None:
    m = _FIELD_LINE.match(text)
    name = m and _field_name(m.group(1))
    return (name, m.group(2), m.start(2)) if m and name else None


def _is_field_line(raw: bytes) -> bool:
    """Whether the line starts with a stealer-log field (read on the bytes: nothing is decoded)."""
    m = _FIELD_PREFIX.match(raw)
    return m is not None and _field_name(m.group(1).decode("latin-1")) is not None


def _field_name(name: str) -> str | None:
    return _STEALER_FIELDS.get(re.sub(r"[\s_-]", "", name.lower()).translate(_LEET))


def _setting_class(name: str) -> str | None:
    """host, user or pass for a setting's name (``IRC_HOST``, ``sshUserName``, ``dbpasswd``), else None."""
    norm = re.sub(r"[_\-.\s]", "", name.lower())
    if "bypass" in norm:
        return None
    for cls, names in (("pass", _PASS_NAMES), ("user", _USER_NAMES), ("host", _HOST_NAMES)):
        if norm.endswith(names):
            return cls
    return None


def _dequote(value: str) -> tuple[str, int]:
    """A setting's value without its quotes, trailing comma or comment, and where it starts in ``value``."""
    if value[:1] in ("'", '"'):
        end = value.find(value[0], 1)
        return (value[1:end], 1) if end != -1 else (value[1:].rstrip(",; "), 1)
    token = re.match(r"[^\s,;]*", value)
    assert token is not None, "the pattern matches the empty string"
    return token.group(), 0


def _config_fields(text: str) -> list[tuple[str, str, int]]:
    """The host, user and password settings on one line of a configuration file, as (class, value, index):
    ``NAME=value`` and ``name: value`` (``.env``, INI, YAML, properties), JSON pairs (one or many on a line),
    PHP ``define()`` and ``$var``, XML elements and attributes (and ``key="..." value="..."`` pairs),
    connection strings (``Server=...;User Id=...;Password=...``), a URL's host and query
    (``jdbc:mysql://db.corp/x?user=..&password=..``) and ``.netrc``-style ``machine host login user password secret``."""
    out: list[tuple[str, str, int]] = []
    m: re.Match[str] | None
    if "<" in text:
        for m in _XML_ELEMENT.finditer(text):
            out.append((m.group(1), m.group(2).strip(), m.start(2) + len(m.group(2)) - len(m.group(2).lstrip())))
        for m in _XML_KEY_VALUE.finditer(text):
            out.append((m.group(2), m.group(4), m.start(4)))
        for m in _XML_ATTRIBUTE.finditer(text):
            out.append((m.group(1), m.group(3), m.start(3)))
    elif '":' in text or "':" in text or '" :' in text:
        out.extend((m.group(2), m.group(4), m.start(4)) for m in _JSON_PAIR.finditer(text))
    elif "define" in text and (m := _DEFINE.search(text)) is not None:
        out.append((m.group(1), m.group(3), m.start(3)))
    elif re.match(r"\s*(?:machine|default)\s", text) and len(pairs := list(_NETRC_PAIR.finditer(text))) > 1:
        out.extend((m.group(1), m.group(2), m.start(2)) for m in pairs)
    elif ";" in text and text.count("=") >= 2 and "://" not in text:
        out.extend((m.group(1), m.group(2).strip().strip("'\""), m.start(2)) for m in _CONNECTION_PAIR.finditer(text))
    elif (m := _SPACED.match(text)) is not None:
        out.append((m.group(1), m.group(3), m.start(3)))
    elif (m := _KEY_VALUE.match(text)) is not None:
        value, shift = _dequote(m.group(2))
        out.append((m.group(1), value, m.start(2) + shift))
    if "://" in text:
        # A URL's host is the record's host; its query may carry the login (JDBC, ODBC, DSNs).
        for m in _URL_HOST.finditer(text):
            out.append(("host", m.group(1), m.start(1)))
        if "?" in text or "&" in text:
            out.extend((m.group(1), m.group(2), m.start(2)) for m in _QUERY_PAIR.finditer(text))
    return [(cls, value, index) for name, value, index in out if (cls := _setting_class(name))]


def _password_ok(value: str) -> bool:
    return (value.lower() not in _NOT_A_PASSWORD and len(value) <= MAX_PASSWORD and not any(c.isspace() for c in value)
            and not _PLACEHOLDER.search(value.encode("utf-8", "replace")))


def _host(url: str | None) -> str | None:
    """The host of a URL, a ``host:port/path`` or a JDBC-style ``jdbc:mysql://host/db``."""
    if not url:
        return None
    m = _URL_HOST.search(url) if "://" in url else None
    if m is not None:
        return m.group(1).lower()
    try:
        return urlsplit(url if "://" in url else f"//{url}").hostname
    except ValueError:
        return None


def _chain_split(chunk: bytes, size: int, rest: Iterator[bytes]) -> Iterator[bytes]:
    view = memoryview(chunk)
    for i in range(0, len(chunk), size):
        yield bytes(view[i:i + size])
    yield from rest


class _LineCounter:
    """Line numbers of positions in a block, for positions asked in any order (cached by position)."""

    def __init__(self, block: bytes, first_line: int):
        self.block = block
        self.first_line = first_line
        self.pos = 0
        self.line = first_line

    def at(self, pos: int) -> int:
        # Counted from the last position asked, backwards too: a key's end asked before the next key's
        # start costs the lines between them, not the block's from its start.
        if pos < self.pos:
            self.line -= self.block.count(b"\n", pos, self.pos)
        else:
            self.line += self.block.count(b"\n", self.pos, pos)
        self.pos = pos
        return self.line
