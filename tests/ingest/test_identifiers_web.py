import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import web
from ingest.identifiers.result import IdentifierType, Invalid, Normalized

# A hyphen pair in positions 3–4 is reserved for IDNA prefixes (RFC 5891, "xn--"): such labels are not plain domains.
labels = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True).filter(lambda label: label[2:4] != "--")
domains = st.builds(lambda parts, tld: ".".join(parts + [tld]), st.lists(labels, min_size=1, max_size=3),
                    st.sampled_from(["com", "cn", "net", "xyz", "xn--fiqs8s"]))


@given(domains)
def test_domains_round_trip_and_are_case_insensitive(domain):
    result = web.normalize_domain(domain.upper() + ".")
    assert isinstance(result, Normalized) and result.type is IdentifierType.DOMAIN
    assert result.value == domain
    assert web.normalize_domain(result.value) == result


@given(domains, st.from_regex(r"(/[A-Za-z0-9._~-]{0,8}){0,3}", fullmatch=True))
def test_urls_are_idempotent(domain, path):
    result = web.normalize_url(f"HTTPS://{domain.upper()}{path}#frag")
    assert isinstance(result, Normalized)
    assert result.value == f"https://{domain}{path or '/'}"
    assert web.normalize_url(result.value) == result


def test_internationalized_domain_is_idna_encoded():
    assert web.normalize_domain("例子.中国").value == "xn--fsqu00a.xn--fiqs8s"
    assert web.normalize_domain("例子.中国").value == web.normalize_domain("XN--FSQU00A.xn--fiqs8s").value


@pytest.mark.parametrize(
    "raw, value",
    [("EVIL.com/Login?a=1", "http://evil.com/Login?a=1"),
     ("https://Evil.COM:443/a#x", "https://evil.com/a"),
     ("http://evil.com:80", "http://evil.com/"),
     ("https://evil.com:8443/a", "https://evil.com:8443/a"),
     ("http://user:pw@evil.com/a", "http://evil.com/a"),
     ("https://例子.中国/路径", "https://xn--fsqu00a.xn--fiqs8s/%E8%B7%AF%E5%BE%84"),
     ("http://8.8.8.8/x", "http://8.8.8.8/x"),
     ("http://[2001:4860::8888]/x", "http://[2001:4860::8888]/x")],
)
def test_url_canonical_form(raw, value):
    result = web.normalize_url(raw)
    assert result.type is IdentifierType.URL and result.value == value
    assert result.attributes["domain"] == value.split("//")[1].split("/")[0].split(":")[0].strip("[]") or ":" in value


@pytest.mark.parametrize(
    "raw, words",
    [("ftp://evil.com/a", "http and https"), ("javascript:alert(1)", "not a URL"), ("localhost/x", "not a URL"),
     ("http://10.0.0.1/x", "public IP"), ("http:///x", "no host"), ("http://bad_host.com/", "not a valid domain"),
     ("http://evil.com:99999/", "malformed"), ("", "empty")],
)
def test_url_refusals(raw, words):
    result = web.normalize_url(raw)
    assert isinstance(result, Invalid) and words in result.reason


@pytest.mark.parametrize(
    "raw, words",
    [("localhost", "not a valid domain"), ("1.2.3.4", "not a valid domain"), ("a..com", "not a valid domain"),
     ("-a.com", "not a valid domain"), ("a.123", "not a valid domain"), ("evil.com/x", "domain only"),
     ("a@evil.com", "domain only"), ("", "empty")],
)
def test_domain_refusals(raw, words):
    result = web.normalize_domain(raw)
    assert isinstance(result, Invalid) and words in result.reason
