import pytest
from call_recording_lib import phone

HU_TABLE = [
    ("06 30 123 4567", "+36301234567", None),
    ("06-30-123-4567", "+36301234567", None),
    ("06/30/123-4567", "+36301234567", None),
    ("+36 (30) 123-4567", "+36301234567", None),
    ("+36-30-123-4567", "+36301234567", None),
    ("0036 30 123 4567", "+36301234567", None),
    ("0036301234567", "+36301234567", None),
    ("36301234567", "+36301234567", None),
    ("  +36301234567  ", "+36301234567", None),
    ("tel:+36-30-123-4567", "+36301234567", None),
    ("sip:+36301234567@pbx.example.com", "+36301234567", None),
    ("sip:06301234567@10.0.0.1;transport=udp", "+36301234567", None),
    ("06 1 234 5678", "+3612345678", None),
    ("(06-1) 234-5678", "+3612345678", None),
    ("+36 1 234 5678 ext. 12", "+3612345678", "12"),
    ("+36 1 234 5678 x 12", "+3612345678", "12"),
    ("+36 1 234 5678 #12", "+3612345678", "12"),
    ("+3612345678;ext=12", "+3612345678", "12"),
    ("06 1 234 5678 mellék 12", "+3612345678", "12"),
    ("06 1 234 5678 m. 12", "+3612345678", "12"),
    ("06 52 123 456", "+3652123456", None),
    ("06 96 555 010", "+3696555010", None),
    ("+49 30 901820", "+4930901820", None),
    ("0049 30 901820", "+4930901820", None),
    ("4930901820", "+4930901820", None),
    ("+1 (415) 555-2671", "+14155552671", None),
    ("+44 20 7946 0958", "+442079460958", None),
]


@pytest.mark.parametrize(("raw", "e164", "extension"), HU_TABLE)
def test_hungarian_and_international_formats(raw, e164, extension):
    result = phone.normalize(raw, "HU")
    assert result.kind == phone.KIND_VALID
    assert result.e164 == e164
    assert result.extension == extension
    assert result.raw == raw


@pytest.mark.parametrize("raw", ["anonymous", "Anonymous", "PRIVATE", "<unknown>", "restricted"])
def test_anonymous(raw):
    result = phone.normalize(raw, "HU")
    assert result.kind == phone.KIND_ANONYMOUS
    assert result.e164 is None


@pytest.mark.parametrize("raw", ["", None, "   "])
def test_empty(raw):
    assert phone.normalize(raw, "HU").kind == phone.KIND_EMPTY


@pytest.mark.parametrize(("raw", "ext"), [("101", "101"), ("2050", "2050"), ("sip:205@pbx", "205")])
def test_internal_extensions(raw, ext):
    result = phone.normalize(raw, "HU")
    assert result.kind == phone.KIND_EXTENSION
    assert result.extension == ext
    assert result.e164 is None


@pytest.mark.parametrize("raw", ["06 99 999 9999 999", "+36 1 23", "hello", "++++", "0000000000"])
def test_invalid_numbers_keep_raw_text(raw):
    result = phone.normalize(raw, "HU")
    assert result.kind == phone.KIND_INVALID
    assert result.e164 is None
    assert result.raw == raw


def test_region_decides_national_numbers():
    assert phone.to_e164("030 901820", "DE") == "+4930901820"
    assert phone.to_e164("030 901820", "HU") != "+4930901820"
    # Without a region only international forms are understood.
    assert phone.to_e164("+36 30 123 4567") == "+36301234567"
    assert phone.to_e164("0036 30 123 4567") == "+36301234567"


def test_format_international():
    assert phone.format_international("+36301234567") == "+36 30 123 4567"
    assert phone.format_international("") == ""
    assert phone.format_international("garbage") == "garbage"


@pytest.mark.parametrize(
    ("text", "digits"),
    [("06 30 123", "30123"), ("0036 30", "3630"), ("+36 30", "3630"), ("030 90", "3090"), ("", "")],
)
def test_search_digits(text, digits):
    assert phone.search_digits(text) == digits


def test_never_raises_on_odd_input():
    for raw in ["\x00", "+" * 100, "9" * 60, "sip:", "tel:", "ext. 12", "#12", "😀"]:
        assert phone.normalize(raw, "HU").kind in (
            phone.KIND_INVALID,
            phone.KIND_EMPTY,
            phone.KIND_EXTENSION,
            phone.KIND_ANONYMOUS,
        )
