"""``--listen`` forms: loopback unless an address is given, the default port unless one is."""

from __future__ import annotations

import pytest

from core.errors import UsageError
from core.metrics.listen import DEFAULT_HOST, DEFAULT_PORT, ListenAddress, parse_listen


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("9200", DEFAULT_HOST, 9200),
        (":9200", DEFAULT_HOST, 9200),
        ("0", DEFAULT_HOST, 0),
        ("0.0.0.0:9200", "0.0.0.0", 9200),
        ("10.1.2.3", "10.1.2.3", DEFAULT_PORT),
        ("localhost:1", "localhost", 1),
        ("[::1]:9200", "::1", 9200),
        ("[::]", "::", DEFAULT_PORT),
        ("::1", "::1", DEFAULT_PORT),
        ("[fe80::1%lo]:80", "fe80::1%lo", 80),
        ("prom-1.example.net:9", "prom-1.example.net", 9),
        ("my_host.", "my_host.", DEFAULT_PORT),  # /etc/hosts names may have underscores
    ],
)
def test_forms(text: str, host: str, port: int) -> None:
    assert parse_listen(text) == ListenAddress(host, port)


@pytest.mark.parametrize(
    "text", ["", "host:", "host:http", ":-1", "1.2.3.4:65536", "[::1", "[]:80", "[::1]80"]
)
def test_bad_forms_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--listen"):
        parse_listen(text)


@pytest.mark.parametrize(
    "text",
    [
        "\u00b9",  # superscript one: str.isdigit() says yes, int() says no
        "127.0.0.1:\u00b2",
        "[::1]:\u00b3",
        "\uff10",  # full-width zero: int() reads it as 0
        "127.0.0.1:\uff18\uff10",
        "\u0669",  # Arabic-Indic nine
    ],
)
def test_only_ascii_digits_make_a_port(text: str) -> None:
    with pytest.raises(UsageError, match="not a port number"):
        parse_listen(text)


@pytest.mark.parametrize("text", ["1.2.3.4:5:6", "host:80:90", "[1.2.3.4]:80", "[localhost]"])
def test_a_colon_host_that_is_no_ipv6_address_is_a_usage_error(text: str) -> None:
    # Never looked up: the message names the IPv6 form instead of a resolver's "unknown name".
    with pytest.raises(UsageError, match=r"\[ADDR\]:PORT"):
        parse_listen(text)


@pytest.mark.parametrize(
    "text",
    [
        *("-1", "-1:80", "0x10", "0x10:80", "127.1", "017.0.0.1", "a..b", "-host", "h*st"),
        # All-numeric but no IPv4 address: the resolver looked them up in DNS (exit 1).
        *("256.1.1.1", "256.1.1.1:1", "1.2.3.4.5", "999.999.999.999:80", "1.2.3.04444"),
    ],
)
def test_a_host_that_is_no_address_or_name_is_a_usage_error(text: str) -> None:
    # Was handed to the resolver: "-1" came back "Name or service not known" (exit 1), and
    # glibc read "0x10" as 0.0.0.16.
    with pytest.raises(UsageError, match=r"neither a port \(0-65535\), an IPv4 address nor"):
        parse_listen(text)


def test_text_form_brackets_ipv6() -> None:
    assert str(ListenAddress("::1", 80)) == "[::1]:80"
    assert str(ListenAddress("127.0.0.1", 80)) == "127.0.0.1:80"


def test_default_port_is_outside_the_prometheus_exporter_range() -> None:
    # 9100-9999 is fully allocated on Prometheus' default port allocations page; 32768 and up
    # is Linux's ephemeral range, where outgoing connections could hold the port.
    assert not 9090 <= DEFAULT_PORT <= 9999
    assert 1024 <= DEFAULT_PORT < 32768
