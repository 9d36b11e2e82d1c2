import shutil
from pathlib import Path

import pytest
import yaml

from brandhound.profile import BrandProfile, DetectionProfile, ProfileError, load_profile, load_profiles
from tests.support.paths import EXAMPLE_BRAND


def test_example_profile_loads_completely():
    p = load_profile(EXAMPLE_BRAND)
    assert p.id == "kestrava"
    assert {"en", "es", "pt", "pl", "fi"} <= set(p.counterfeit_keywords)
    assert all(img.is_file() for product in p.products for img in product.images)
    assert p.products[0].msrp.currency == "EUR"
    assert p.rights_holder.trademarks and p.marketplaces and p.corporate_email_domains
    assert "en" in p.notice_languages


@pytest.fixture
def brand_dir(tmp_path):
    """A copy of the example brand that a test can break."""
    target = tmp_path / "brand"
    shutil.copytree(EXAMPLE_BRAND.parent, target)
    return target


def _write(brand_dir: Path, change) -> Path:
    data = yaml.safe_load((brand_dir / "brand.yaml").read_text())
    change(data)
    path = brand_dir / "brand.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def _delete(key):
    return lambda d: d.pop(key)


def _set(path, value):
    def change(d):
        target = d
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_delete("official_domains"), "official_domains: required field is missing"),
        (_delete("rights_holder"), "rights_holder: required field is missing"),
        (_set(["threshold"], "high"), "threshold: Input should be a valid number"),
        (_set(["products", 0, "msrp", "amount"], "cheap"), "products[0].msrp.amount: Input should be a valid number"),
        (_set(["products", 1, "msrp", "amount"], -5), "products[1].msrp.amount: Input should be greater than 0"),
        (_set(["official_domains"], ["kestrava.com", "not a domain"]), "official_domains[1]: 'not a domain' is not a valid domain name"),
        (_set(["corporate_email_domains"], ["-bad-.com"]), "corporate_email_domains[0]: '-bad-.com' is not a valid domain name"),
        (_set(["products", 2, "images"], ["images/missing.jpg"]), "products[2].images[0]: image file images/missing.jpg does not exist"),
        (_set(["logos"], ["brand.yaml"]), "logos[0]: image file brand.yaml is not a readable image"),
        (_set(["products", 0, "msrp", "currency"], "EUX"), "products[0].msrp.currency: 'EUX' is not an ISO 4217 currency code"),
        (_set(["notice_languages"], ["es", "pt"]), "notice_languages: must include 'en'"),
        (_set(["counterfeit_keywords", "english"], ["fake"]), "counterfeit_keywords.english.[key]: 'english' is not an ISO 639-1"),
        (_set(["threshhold"], 0.5), "threshhold: unknown field (misspelt?)"),
        (_set(["products", 1, "sku"], "KST-CUP-001"), "product SKU 'KST-CUP-001' appears twice"),
        (_set(["card_bin_ranges"], ["4556"]), "card_bin_ranges[0]"),
        (_set(["rights_holder", "trademarks", 0, "classes"], [99]),
         "rights_holder.trademarks[0].classes[0]: Input should be less than or equal to 45"),
    ],
)
def test_bad_profile_names_file_field_and_problem(brand_dir, change, expected):
    path = _write(brand_dir, change)
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    message = str(exc.value)
    assert str(path) in message
    assert expected in message, message


def test_unicode_domains_are_validated_and_kept_readable(brand_dir):
    path = _write(brand_dir, _set(["official_domains"], ["KESTRAVA.com", "xn--kstrava-bya.fi", "kestrava.fi"]))
    p = load_profile(path)
    assert p.official_domains == ["kestrava.com", "késtrava.fi", "kestrava.fi"]


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nname: [unclosed\n")
    with pytest.raises(ProfileError, match=r"broken.yaml: line \d+, column \d+: not valid YAML"):
        load_profile(path)


@pytest.mark.parametrize("content", ["", "- a list\n", "just text\n"])
def test_non_mapping_file_is_refused(tmp_path, content):
    path = tmp_path / "p.yaml"
    path.write_text(content)
    with pytest.raises(ProfileError, match="expected a mapping"):
        load_profile(path)


def test_missing_file(tmp_path):
    with pytest.raises(ProfileError, match="no such file"):
        load_profile(tmp_path / "nope.yaml")


def test_every_problem_is_reported_at_once(brand_dir):
    def change(d):
        d.pop("names")
        d["products"][0]["msrp"]["currency"] = "XXX"
    with pytest.raises(ProfileError) as exc:
        load_profile(_write(brand_dir, change))
    assert len(exc.value.problems) == 2


# --------------------------------------------------------------------------- minimal profiles, directories

MINIMAL = "id: acme\nname: Acme\nnames: [Acme]\nofficial_domains: [acme.com]\n"


def test_a_minimal_profile_is_enough_for_the_detectors_but_not_for_takedowns(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(MINIMAL)
    profile = load_profile(path, detect_only=True)
    assert isinstance(profile, DetectionProfile) and not isinstance(profile, BrandProfile)
    assert profile.official_domains == ["acme.com"] and profile.products == [] and profile.rights_holder is None
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    message = str(err.value)
    for field in ("products", "rights_holder", "counterfeit_keywords", "corporate_email_domains"):
        assert f"{field}: required field is missing" in message


def test_a_full_profile_read_for_detection_is_still_a_full_profile():
    assert isinstance(load_profile(EXAMPLE_BRAND, detect_only=True), BrandProfile)


def test_a_minimal_profile_still_has_its_fields_checked(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(MINIMAL.replace("acme.com", "not a domain"))
    with pytest.raises(ProfileError, match=r"official_domains\[0\]: .*not a valid domain"):
        load_profile(path, detect_only=True)


def test_a_directory_of_profiles_loads_every_brand_once(tmp_path):
    (tmp_path / "acme.yaml").write_text(MINIMAL)
    (tmp_path / "globex").mkdir()
    (tmp_path / "globex" / "brand.yaml").write_text(MINIMAL.replace("acme", "globex").replace("Acme", "Globex"))
    (tmp_path / "notes.txt").write_text("not a profile")
    profiles = load_profiles(tmp_path, detect_only=True)
    assert [p.id for p in profiles] == ["acme", "globex"]
    assert [p.id for p in load_profiles(tmp_path / "acme.yaml", detect_only=True)] == ["acme"]


def test_a_directory_with_two_profiles_of_one_id_or_none_at_all_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(MINIMAL)
    (tmp_path / "b.yaml").write_text(MINIMAL)
    with pytest.raises(ProfileError, match="'acme' is also the id of"):
        load_profiles(tmp_path, detect_only=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ProfileError, match="no brand profiles here"):
        load_profiles(empty)


def test_a_directory_given_where_a_file_is_expected_says_so(tmp_path):
    with pytest.raises(ProfileError, match="is a directory"):
        load_profile(tmp_path)
