"""Leak scanner: the formats of real configuration files and stealer logs, and dumps that end without a newline."""

from __future__ import annotations

import pytest

from brandhound.config import HmacKey
from detectors.leak_scan import LeakScanner
from detectors.secret_masking import keyed_hash

KEY = HmacKey(key=b"format-key" * 4, id="test")
H = lambda value: keyed_hash(value, KEY)  # noqa: E731
RSA = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(["MIIEogIBAAKCAQEAjosMtDUqbE1/8zxZac1t8fkh2SxGuMXHk9yxni"] * 6) \
    + "\n-----END RSA PRIVATE KEY-----"
PPK = ("PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: k\nPublic-Lines: 2\nAAAAB3NzaC1yc2E\nAAAAB3NzaC1yc2E\n"
       "Private-Lines: 2\nAAABAQCO+eW40w29\nV58mWLrNLgl\nPrivate-MAC: 6730c52e494d4aba1191485053ca6f47bb619d2b")
STEALER = "URL: https://sso.orvellia.com/login\nUSER: aino.virtanen\nPASS: Talvi2024!"


def scanner(**kwargs) -> LeakScanner:
    return LeakScanner(KEY, corporate_domains=["orvellia.com"], other_cards=False, **kwargs)


def hits(text: str | bytes, **kwargs):
    return list(scanner(**kwargs).scan(text.encode() if isinstance(text, str) else text))


def creds(text: str) -> list[tuple[str, str, str]]:
    return [(h.user, h.secret.hmac, h.secret_type) for h in hits(text) if h.kind == "credential"]


def secrets(text: str) -> list[tuple[str, str]]:
    return [(h.secret_type, h.secret.hmac) for h in hits(text) if h.kind == "secret"]


# --------------------------------------------------------------------------- the end of a dump


@pytest.mark.parametrize("chunk_size", [7, 64, 1000, 1 << 20])
@pytest.mark.parametrize(("tail", "kind"), [(RSA, "secret"), (PPK, "secret"), (STEALER, "credential")])
def test_a_key_or_record_ending_the_dump_without_a_final_newline_is_found(tail, kind, chunk_size):
    for head in ("", "noise line\n" * 40):
        data = (head + tail).encode()
        got = [h for h in hits(data, chunk_size=chunk_size, max_line=4096, overlap=512) if h.kind == kind]
        assert len(got) == 1, (chunk_size, len(head))
        assert got[0].line == head.count("\n") + (2 if kind == "credential" else 1)  # a record's line is its user's
        assert got[0].end_line == head.count("\n") + tail.count("\n") + 1


def test_a_configuration_record_ending_the_dump_is_read_with_its_last_line():
    text = "IRC_HOST=irc.orvellia.com\nIRC_NICK=nick\n# Risk\nIRC_PASS=irc_pass"
    assert creds(text) == [("nick", H("irc_pass"), "config_record")]


# --------------------------------------------------------------------------- tokens and keys


def test_tokens_named_by_their_setting_and_by_their_format():
    text = "\n".join([
        "export HOMEBREW_GITHUB_API_TOKEN='51e61afee2c2667123fc9ed160a0a20b330c8f74'",
        'export MAILCHIMP_API_KEY="38c47f19e349153fa963bb3b3212fe8e-us11"',
        '  "HEROKU_API_KEY": "7a2f9a4289e530bef6dbf31f4cbf63d5"',
        "github.com:\n- user: octocat\n  oauth_token: \"7f9cc25de23d1a255720b0ae4551f4044d600f46\"",
        "//registry.npmjs.org/:_authToken=26dfe8d8-889b-4380-92ff-9c3c6ea5d930",
        "_auth = YWRtaW46YWRtaW4=",
        '"auth": "X3Rva2VuOjEyMzQuMThqZjg0MWZrbDQw"',
        "secret_key = yLryKGwcGc3ez9G8YAnjeYMQOc # s3cmd",
        "  api_key: 3b6311afca5bd8aac647b316704e9c6d # tugboat",
        "DO_TOKEN=dop_v1_" + "ab12" * 16,
        "const npm = 'npm_" + "A1b2C3d4E5" * 3 + "abcdef'",
        "key 0123456789abcdef0123456789abcdef-us7 in prose",
    ])
    assert secrets(text) == [
        ("github_token", H("51e61afee2c2667123fc9ed160a0a20b330c8f74")),
        ("mailchimp_api_key", H("38c47f19e349153fa963bb3b3212fe8e-us11")),
        ("heroku_api_key", H("7a2f9a4289e530bef6dbf31f4cbf63d5")),
        ("github_token", H("7f9cc25de23d1a255720b0ae4551f4044d600f46")),
        ("npm_token", H("26dfe8d8-889b-4380-92ff-9c3c6ea5d930")),
        ("registry_auth", H("YWRtaW46YWRtaW4=")),
        ("registry_auth", H("X3Rva2VuOjEyMzQuMThqZjg0MWZrbDQw")),
        ("aws_secret_access_key", H("yLryKGwcGc3ez9G8YAnjeYMQOc")),
        ("api_token", H("3b6311afca5bd8aac647b316704e9c6d")),
        ("digitalocean_token", H("dop_v1_" + "ab12" * 16)),
        ("npm_token", H("npm_" + "A1b2C3d4E5" * 3 + "abcdef")),
        ("mailchimp_api_key", H("0123456789abcdef0123456789abcdef-us7")),
    ]


def test_a_format_rule_wins_over_the_setting_name_at_the_same_value():
    assert secrets("SLACK_API_TOKEN=xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx") == [
        ("slack_token", H("xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"))]


@pytest.mark.parametrize("line", [
    "S3_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY",              # a reference
    "API_KEY=${{ secrets.API_KEY }}",
    "api_key = 'your_api_key_here_please'",                     # a placeholder
    "    _replace_token: AttributeEventToken",                  # a type annotation
    '"Continuation-Token": URLSafeSerializer(request.app.state.secret_key).dumps(x)',  # a call
    "if(typeof t.token==`string`)a.push({token:t.token+n.tokenPostfix})",  # code
    "token = request.headers.get('X-Token')",
    "_auth = notbase64atall!!",                                 # not user:password in base64
    "secret_key = changeme",
    "GITHUB_TOKEN=abc",                                         # too short
])
def test_what_only_looks_like_a_named_token_is_not_one(line):
    assert secrets(line) == []


def test_a_putty_key_is_one_secret_spanning_its_lines():
    [hit] = [h for h in hits(PPK + "\n") if h.kind == "secret"]
    assert hit.secret_type == "private_key" and (hit.line, hit.end_line) == (1, PPK.count("\n") + 1)


# --------------------------------------------------------------------------- credentials


def test_configuration_records_of_a_corporate_host_or_account():
    ftp = '{\n    "protocol": "sftp",\n    "host": "files.orvellia.com",\n    "port": 22,\n    "user": "root",\n' \
          '    "pass": "hunter22",\n    "promptForPass": false,\n    "passphrase": "swordfish"\n}'
    env = "MAIL_HOST=smtp.mailbox-example.com\nMAIL_USERNAME=ops@orvellia.com\n# Risk\nMAIL_PASSWORD=Mailpass1234!\n\n" \
          "DB_HOST=localhost\nDB_USERNAME=root\nDB_PASSWORD=admin123\n"
    xml = '<Server>\n  <Host>ftp.orvellia.com</Host>\n  <User>deploy</User>\n  <Pass>ExamplePas123</Pass>\n</Server>\n' \
          '<webServer><fileTransfer host="orvellia.com" port="21" password="dff9dfdf" username="root"/></webServer>'
    netrc = "machine imap.orvellia.com login aino@orvellia.com password pass123\n" \
            "machine mail.mailbox-example.com login x@mailbox-example.com password NotOurs1\n" \
            "machine vpn.orvellia.com\n  login ville\n  password Dragon77\n"
    assert creds(ftp) == [("root", H("hunter22"), "config_record"), ("root", H("swordfish"), "config_record")]
    assert creds(env) == [("ops@orvellia.com", H("Mailpass1234!"), "config_record")]
    assert creds(xml) == [("deploy", H("ExamplePas123"), "config_record"), ("root", H("dff9dfdf"), "config_record")]
    assert creds(netrc) == [("aino@orvellia.com", H("pass123"), "config_record"),
                            ("ville", H("Dragon77"), "config_record")]


def test_a_record_of_another_host_next_to_a_corporate_one_is_not_taken():
    text = "<Servers>\n<Host>ftp.orvellia.com</Host>\n<User>a</User>\n<Pass>Ours1234</Pass>\n" \
           "<Host>localhost</Host>\n<User>b</User>\n<Pass>NotOurs99</Pass>\n</Servers>"
    assert creds(text) == [("a", H("Ours1234"), "config_record")]
    assert creds('email=dummy@orvellia.com\n_auth_type = legacy\nalways-auth=true\n') == []


def test_url_user_info_with_an_e_mail_as_user_takes_the_password_up_to_the_host():
    assert creds("https://ville@orvellia.com:password!#@498@github.com\n") == [
        ("ville@orvellia.com", H("password!#@498"), "url_userinfo")]
    assert creds("https://ville%40orvellia.com:p%40ss@git.example.net/repo.git\n") == [
        ("ville@orvellia.com", H("p@ss"), "url_userinfo")]
    assert creds("https://someone@mailbox-example.com:x@github.com\n") == []


def test_code_literals_and_space_or_quote_separated_combo_lines():
    text = "\n".join([
        "    conn.login('username@orvellia.com', 'salesforcepassword', function(err, res) {",
        '    argv = ("test.py", "invalid@orvellia.com", "-oep")',      # not a login call
        "https://steamcommunity.com/login/home/ tomas.silva@orvellia.com 3kNsJ**B1B1zcW",
        '"https://mail.orvellia.com/owa":oskar.haddad:eOxLM7Dc#D4',
    ])
    assert creds(text) == [
        ("username@orvellia.com", H("salesforcepassword"), "code_literal"),
        ("tomas.silva@orvellia.com", H("3kNsJ**B1B1zcW"), "url:login:password"),
        ("oskar.haddad", H("eOxLM7Dc#D4"), "url:login:password"),
    ]


def test_stealer_fields_as_parsers_document_them():
    text = "\n\n".join([
        "URL: https://steam.example.net/ | USER: aino@orvellia.com | PASS: Pipe1234",
        "Host: https://vpn.orvellia.com | Username: pekka | Password: a|b|c",
        '["Edge" = "Profile 1"]\nHostname: https://jira.orvellia.com/\nUSER LOGIN: emil\nUSER PASSWORD: Meta5678',
        "UR1: https://sso.orvellia.com\nU53RN4M3: lea\nP455W0RD: Leet9999",
        "browser: Google Chrome\nprofile: Default\nurl: https://git.orvellia.com\nlogin: nora\npassword: Stealc11",
        "username: jonas\npassword: Last2222\nwebsite: https://mail.orvellia.com/owa/",
        "username: someone\npassword: NotOurs3\nwebsite: https://www.facebook.com/",
    ])
    assert creds(text) == [
        ("aino@orvellia.com", H("Pipe1234"), "stealer_log"),
        ("pekka", H("a|b|c"), "stealer_log"),
        ("emil", H("Meta5678"), "stealer_log"),
        ("lea", H("Leet9999"), "stealer_log"),
        ("nora", H("Stealc11"), "stealer_log"),
        ("jonas", H("Last2222"), "stealer_log"),
    ]


# --------------------------------------------------------------------------- what is claimed


def test_every_type_the_scanner_reports_is_documented():
    from pathlib import Path

    from detectors.leak_scan import _BUILTIN_RULES, _SERVICES, CLAIMED_TYPES

    reported = {rule.name for rule in _BUILTIN_RULES} | set(_SERVICES.values()) | {"brand_api_key"}
    reported |= {h.secret_type for h in hits(
        "a@orvellia.com:p1\na@orvellia.com;p2\na@orvellia.com|p3\na@orvellia.com\tp4\n"
        "https://x.orvellia.com/l u p5\nhttps://u:p6@orvellia.com\nlogin('a@orvellia.com', 'p7')\n\n"
        "URL: https://orvellia.com\nUSER: u\nPASS: p8\n\nHOST=orvellia.com\nUSER=u\nPASSWORD=p9\n")}
    assert reported <= set(CLAIMED_TYPES)
    kinds = Path(__file__).resolve().parents[2] / "evaluation" / "corpora" / "secrets" / "KINDS.md"
    table = kinds.read_text(encoding="utf-8")
    for name, (kind, _) in CLAIMED_TYPES.items():
        assert f"`{name.replace('|', chr(92) + '|').replace(chr(9), chr(92) + 't')}`" in table, name
        assert kind in ("cloud_key", "saas_token", "private_key", "credential", "card")


@pytest.mark.parametrize(("kind", "value"), [
    ("azure_storage_key", "AccountKey=" + "Ab1+" * 21 + "xy=="),
    ("google_oauth_secret", "GOCSPX-" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7b"),
    ("alibaba_access_key_id", "LTAI" + "5tQ8sT1vW4yZ7bC2"),
    ("openai_api_key", "sk-proj-" + "aB3dE6gH9jK2" * 5),
    ("openai_api_key", "sk-" + "aB3dE6gH9jK2mN5pQ8sT" + "T3BlbkFJ" + "aB3dE6gH9jK2mN5pQ8sT"),
    ("anthropic_api_key", "sk-ant-api03-" + "aB3dE6gH9jK2mN5pQ8sT" * 5),
    ("huggingface_token", "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"),
    ("databricks_token", "dapi" + "0123456789abcdef" * 2),
    ("vault_token", "hvs." + "aB3dE6gH9jK2mN5pQ8sT" * 5),
    ("square_token", "sq0atp-" + "aB3dE6gH9jK2mN5pQ8sT1v"),
    ("newrelic_api_key", "NRAK-" + "ABCDEFGHIJKLMNOPQRSTUVWXY12"),
])
def test_more_cloud_and_saas_formats(kind, value):
    assert secrets(f"config: {value} \n") == [(kind, H(value.removeprefix("AccountKey=")))]


def test_webhooks_and_tokens_with_a_colon():
    discord = "https://discord.com/api/webhooks/123456789012345678/" + "aB3dE6gH9jK2mN5pQ8sT" * 3 + "xyzw"
    telegram = "123456789:AA" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC2eF5"
    assert secrets(f"hook: {discord}\nTELEGRAM_BOT_TOKEN={telegram}\n") == [
        ("discord_webhook", H(discord.removeprefix("https://"))), ("telegram_bot_token", H(telegram))]
    assert secrets("TOKEN_URL='https://auth.example.net/oauth2/token'\n") == []


def test_minified_json_connection_strings_url_queries_and_properties():
    text = "\n\n".join([
        '{"host":"ftp.orvellia.com","user":"deploy","password":"Json1234"}',
        "Server=sql.orvellia.com;Database=crm;User Id=sa;Password=Conn5678;",
        "url = jdbc:mysql://db.orvellia.com:3306/app?user=app&password=Query999",
        "spring.datasource.url=jdbc:postgresql://pg.orvellia.com:5432/app\nspring.datasource.username=svc\n"
        "spring.datasource.password=Props777",
        '<appSettings>\n  <add key="SmtpServer" value="smtp.orvellia.com" />\n  <add key="SmtpUser" value="mailer" />\n'
        '  <add key="SmtpPassword" value="Xml4242" />\n</appSettings>',
        '{"host":"localhost","user":"root","password":"NotOurs1"}',
        "Server=sql.mailbox-example.com;User Id=sa;Password=NotOurs2;",
    ])
    assert creds(text) == [
        ("deploy", H("Json1234"), "config_record"),
        ("sa", H("Conn5678"), "config_record"),
        ("app", H("Query999"), "config_record"),
        ("svc", H("Props777"), "config_record"),
        ("mailer", H("Xml4242"), "config_record"),
    ]


# --------------------------------------------------------------------------- settings as configuration files write them

#: Random letters without a digit, as some generated tokens are.
LETTERS = "YXNkZmZmZmZm_QWxhZGRpbg"


@pytest.mark.parametrize("line", [
    f"ENV DRONE_TOKEN {LETTERS}",                       # Dockerfile, old form
    f"ENV DRONE_TOKEN={LETTERS}",
    f"  apikey: {LETTERS}",                             # YAML
    f"export API_TOKEN={LETTERS}  # ci",                # shell
    f"docker run \\\n  -e SERVICE_TOKEN={LETTERS} \\\n  image",  # a flag on a continued line
    f"docker run -e SERVICE_TOKEN={LETTERS} -e DEBUG=1 image",
    f"service.api.key={LETTERS}",                       # .properties
    f"- API_TOKEN={LETTERS}",                           # a compose file's environment list
    f"<apiToken>{LETTERS}</apiToken>",                  # XML
])
def test_an_unquoted_token_on_a_configuration_line_is_a_literal(line):
    assert secrets(line) == [("api_token", H(LETTERS))]


@pytest.mark.parametrize("line", [
    "    _replace_token: AttributeEventToken",          # a name made of words
    "token: SomeTokenProviderClassName",
    f"api_key = {LETTERS};",                            # a statement, not a setting line
    f"connect(api_key={LETTERS})",                      # an argument in code
    f"TOKEN {LETTERS}",                                 # no ENV before it
    "The token expires after inactivity",
    "token = self.config2.session_value",               # a dotted path
    "<apiToken>${API_TOKEN}</apiToken>",
    "<apiToken>{token}</apiToken>",
    "ENV DRONE_TOKEN {{ DRONE_TOKEN }}",
    "<token>abcdefABCDEF123456\n</other>",              # an element not closed on the line
])
def test_names_and_references_on_configuration_lines_are_not_tokens(line):
    assert secrets(line) == []


def test_braced_xml_tokens_dotted_values_and_numeric_keys():
    jenkins = "{AQAAABAAAAAwQ2ZtYWlsb3J0ZXN0MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3Bx}"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl"
    text = "\n".join([
        f"<apiToken>{jenkins}</apiToken>",
        f"//registry.corp.example/:_authToken={jwt}",     # a JWT too short for the jwt rule
        '"NUMERIC_APIKEY": 1925483168813050783076',
        '"token": 1000000000000000000',                    # a counter's digits, not a key
        '"api_key": 123456789012',                         # too short
    ])
    assert secrets(text) == [("api_token", H(jenkins[1:-1])), ("api_token", H(jwt)),
                             ("api_token", H("1925483168813050783076"))]


def test_aws_session_tokens_and_shortened_secret_names():
    session = "FwoGZXIvYXdzEJr//////////wEaDM3" + "aB3dE6gH9jK2mN5pQ8sT+/" * 10
    text = "\n".join([
        f"aws_session_token = {session}",
        f"AWS_SECURITY_TOKEN: {session[:90]}",            # too short for a session token: a token by its name
        "aws_session_token: ${AWS_SESSION_TOKEN}",
        '"created_by": "/bin/sh -c #(nop) ENV aws_sec_key "KEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKEYK"',
        'aws_sec_key "KEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKEYK"',  # no ENV: a name and a word
        "secret_key = KEYKEYKEYKEYKEYKEYKEYK",              # not random and not 40 long
    ])
    assert secrets(text) == [("aws_session_token", H(session)), ("api_token", H(session[:90])),
                             ("aws_secret_access_key", H("KEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKEYK"))]


def test_more_key_formats_and_their_near_misses():
    azure = "abc8Q~dEf.GhIjKlMnOpQrStUvWxYz0123456789"
    openai = "sk-my-service-acct-abcdefghijklmnopqrstT3BlbkFJabcdefghijklmnopqrst"
    pat = "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"
    slack = "hooks.slack.com/services/HARDC0D3D/HARDC0D3D/hardcodedWebhook01"
    text = "\n".join([
        f"client_secret={azure}",
        "note: abcQ~dEfGhIjKlMnOpQrStUvWxYz0123456789",   # no digit before Q~
        f"key: {openai}",
        "key: T3BlbkFJabcdefghijklmnopqrst",                # the marker without the key
        f"our{pat}",                                        # the fine-grained layout, glued to a word
        "ourgithub_pat_11BDEDMGI0smHeY1yIHWaDbIwTsJyaTaGLVUgzeFyr1",
        f"slack-webhook: https://{slack}",
        "hook: https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    ])
    assert secrets(text) == [("azure_client_secret", H(azure)), ("openai_api_key", H(openai)),
                             ("github_token", H(pat)), ("slack_webhook", H(slack))]


def test_pem_key_blocks_but_public_ones():
    body = "QyNTUxOQAAACCtrF27B/zd9DEpd38IbVBy93wSeYXKU0AGXMyO8ePu2QAAAKBSzpYEUs6W"
    one_line = f"-----BEGIN RSA KEY-----{body}-----END RSA KEY-----"
    indented = f"<key>\n  -----BEGIN RSA KEY-----\n  {body}\n  -----END RSA KEY-----\n</key>"
    public = "\n".join(f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"
                       for label in ("PUBLIC KEY", "RSA PUBLIC KEY", "PGP PUBLIC KEY BLOCK"))
    found = hits(f'"key": "{one_line}",\n{indented}\n{public}\n')
    assert [(h.secret_type, h.line, h.end_line) for h in found] == [("private_key", 1, None), ("private_key", 3, 5)]


def test_a_docker_auth_that_is_no_user_and_password_in_text_is_not_one():
    assert secrets('"auth": "zq212MzhardcodedDoesNotDecodeToAscii"\n"auth": "QVdTOmhhcmRjb2RlZAo="') == [
        ("registry_auth", H("QVdTOmhhcmRjb2RlZAo="))]
