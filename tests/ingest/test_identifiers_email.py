import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import email
from ingest.identifiers.result import IdentifierType, Invalid, Normalized

locals_ = st.from_regex(r"[a-z0-9_+-]{1,20}(\.[a-z0-9_+-]{1,20}){0,2}", fullmatch=True)


@given(locals_, st.sampled_from(["qq.com", "163.com", "example.cn", "mail.evil.xyz"]))
def test_addresses_are_lower_cased_and_idempotent(local, domain):
    result = email.normalize(f" {local.upper()}@{domain.upper()} ")
    assert isinstance(result, Normalized) and result.type is IdentifierType.EMAIL
    assert result.value == f"{local}@{domain}"
    assert email.normalize(result.value) == result


def test_idn_domain_and_mailto_prefix():
    assert email.normalize("mailto:Foo@例子.中国").value == "foo@xn--fsqu00a.xn--fiqs8s"


@pytest.mark.parametrize(
    "raw, words",
    [("", "empty"), ("foo", "exactly one @"), ("a@b@c.com", "exactly one @"), ("@qq.com", "1–64"),
     ("x" * 65 + "@qq.com", "1–64"), ("a..b@qq.com", "double dots"), ("a b@qq.com", "no spaces"),
     ("foo@localhost", "not a valid domain"), ("foo@qq", "not a valid domain")],
)
def test_refusals(raw, words):
    result = email.normalize(raw)
    assert isinstance(result, Invalid) and words in result.reason
