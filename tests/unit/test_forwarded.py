"""apply_forwarded(): proxy headers from a trusted peer, applied to CGI params.

The caller has already checked that the peer itself is trusted; ``trusts`` says
which addresses in the chain are our own proxies. The client is the rightmost
hop we do not trust: entries to its left were written by the client (or by
proxies it chose) and can say anything.
"""

from __future__ import annotations

import ipaddress

import pytest

from fcgigate.wsgi import apply_forwarded

PROXIES = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "127.0.0.1/32", "2001:db8:ffff::/48")]


def trusts(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in PROXIES)


def base(**headers: str) -> dict[str, str]:
    """Params as the HTTP protocol and the glue build them for a proxied request."""
    params = {
        "REQUEST_METHOD": "GET",
        "REQUEST_URI": "/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "backend.internal:8000",
        "REMOTE_ADDR": "10.0.0.2",
        "REMOTE_PORT": "51234",
        "REQUEST_SCHEME": "http",
    }
    params.update(headers)
    return params


def applied(**headers: str) -> dict[str, str]:
    params = base(**headers)
    apply_forwarded(params, trusts)
    return params


# -- nothing to apply -----------------------------------------------------------------


def test_no_headers_leaves_params_unchanged() -> None:
    assert applied() == base()


@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED"])
def test_empty_headers_leave_params_unchanged(header: str) -> None:
    assert applied(**{header: ""}) == base(**{header: ""})


# -- X-Forwarded-For ------------------------------------------------------------------


def test_xff_single() -> None:
    params = applied(HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert params["REMOTE_ADDR"] == "203.0.113.7"
    assert "REMOTE_PORT" not in params  # the port was the proxy's, not the client's


def test_xff_chain_rightmost_untrusted_hop_wins() -> None:
    # client 203.0.113.7 -> edge proxy 10.1.1.1 -> inner proxy 10.0.0.2 (our peer)
    params = applied(HTTP_X_FORWARDED_FOR="203.0.113.7, 10.1.1.1")
    assert params["REMOTE_ADDR"] == "203.0.113.7"


def test_xff_spoofed_leftmost_entry_is_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4" itself; the edge appended its address.
    params = applied(HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.23, 10.1.1.1")
    assert params["REMOTE_ADDR"] == "198.51.100.23"


def test_xff_spoof_naming_a_trusted_proxy_is_ignored() -> None:
    params = applied(HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.23")
    assert params["REMOTE_ADDR"] == "198.51.100.23"


def test_xff_all_trusted_takes_the_leftmost() -> None:
    params = applied(HTTP_X_FORWARDED_FOR="10.3.3.3, 10.2.2.2, 127.0.0.1")
    assert params["REMOTE_ADDR"] == "10.3.3.3"
    assert "REMOTE_PORT" not in params


def test_xff_whitespace_and_empty_elements() -> None:
    params = applied(HTTP_X_FORWARDED_FOR=" ,203.0.113.7 ,, 10.1.1.1 , ")
    assert params["REMOTE_ADDR"] == "203.0.113.7"


def test_xff_ipv6_hop() -> None:
    params = applied(HTTP_X_FORWARDED_FOR="2001:db8::1, 2001:db8:ffff::5")
    assert params["REMOTE_ADDR"] == "2001:db8::1"


def test_xff_keeps_other_params() -> None:
    params = applied(HTTP_X_FORWARDED_FOR="203.0.113.7")
    expected = base(HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="203.0.113.7")
    del expected["REMOTE_PORT"]
    assert params == expected


# -- X-Forwarded-Proto and X-Forwarded-Host ------------------------------------------


def test_xfp_https_sets_scheme_and_https() -> None:
    params = applied(HTTP_X_FORWARDED_PROTO="https")
    assert params["REQUEST_SCHEME"] == "https"
    assert params["HTTPS"] == "on"
    assert params["REMOTE_ADDR"] == "10.0.0.2" and params["REMOTE_PORT"] == "51234"


def test_xfp_any_case() -> None:
    params = applied(HTTP_X_FORWARDED_PROTO="HTTPS")
    assert params["REQUEST_SCHEME"] == "https" and params["HTTPS"] == "on"


def test_xfp_http_sets_scheme_only() -> None:
    params = applied(HTTP_X_FORWARDED_PROTO="http")
    assert params["REQUEST_SCHEME"] == "http"
    assert "HTTPS" not in params


def test_xfp_list_uses_the_last_value() -> None:
    # the proxy nearest to us appended the last one
    params = applied(HTTP_X_FORWARDED_PROTO="http, https")
    assert params["REQUEST_SCHEME"] == "https" and params["HTTPS"] == "on"


@pytest.mark.parametrize("proto", ["ftp", "javascript", "https\r\nX: y", "", "  "])
def test_xfp_bogus_is_ignored(proto: str) -> None:
    params = applied(HTTP_X_FORWARDED_PROTO=proto)
    assert params["REQUEST_SCHEME"] == "http"
    assert "HTTPS" not in params


def test_xfh_sets_host() -> None:
    params = applied(HTTP_X_FORWARDED_HOST="www.example.com")
    assert params["HTTP_HOST"] == "www.example.com"


def test_xfh_with_port() -> None:
    params = applied(HTTP_X_FORWARDED_HOST="www.example.com:8443")
    assert params["HTTP_HOST"] == "www.example.com:8443"


@pytest.mark.parametrize("host", ["evil.example\r\nSet-Cookie: a=b", "a\nb", "a\rb", "a\x00b"])
def test_xfh_with_control_characters_is_ignored(host: str) -> None:
    params = applied(HTTP_X_FORWARDED_HOST=host)
    assert params["HTTP_HOST"] == "backend.internal:8000"


def test_all_three_x_forwarded_headers() -> None:
    params = applied(
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="shop.example",
    )
    assert params["REMOTE_ADDR"] == "203.0.113.7"
    assert params["REQUEST_SCHEME"] == "https" and params["HTTPS"] == "on"
    assert params["HTTP_HOST"] == "shop.example"
    assert "REMOTE_PORT" not in params


# -- Forwarded (RFC 7239) -------------------------------------------------------------


def test_forwarded_for_ipv4() -> None:
    params = applied(HTTP_FORWARDED="for=192.0.2.60")
    assert params["REMOTE_ADDR"] == "192.0.2.60"
    assert "REMOTE_PORT" not in params


def test_forwarded_for_ipv4_with_port() -> None:
    params = applied(HTTP_FORWARDED='for="192.0.2.60:4711"')
    assert params["REMOTE_ADDR"] == "192.0.2.60"


def test_forwarded_for_quoted_ipv6_with_port() -> None:
    params = applied(HTTP_FORWARDED='for="[2001:db8:cafe::17]:4711"')
    assert params["REMOTE_ADDR"] == "2001:db8:cafe::17"


def test_forwarded_for_quoted_ipv6_without_port() -> None:
    params = applied(HTTP_FORWARDED='For="[2001:db8:cafe::17]"')
    assert params["REMOTE_ADDR"] == "2001:db8:cafe::17"


def test_forwarded_proto_and_host() -> None:
    params = applied(HTTP_FORWARDED="for=192.0.2.43;proto=https;host=www.example.com")
    assert params["REMOTE_ADDR"] == "192.0.2.43"
    assert params["REQUEST_SCHEME"] == "https" and params["HTTPS"] == "on"
    assert params["HTTP_HOST"] == "www.example.com"


def test_forwarded_keys_any_case_and_spaces() -> None:
    params = applied(HTTP_FORWARDED='For=192.0.2.43; Proto=HTTPS; Host="www.example.com:8443"')
    assert params["REMOTE_ADDR"] == "192.0.2.43"
    assert params["REQUEST_SCHEME"] == "https"
    assert params["HTTP_HOST"] == "www.example.com:8443"


def test_forwarded_several_elements_rightmost_untrusted() -> None:
    # spoofed by the client, then the real client seen by our edge, then our edge
    params = applied(HTTP_FORWARDED="for=1.2.3.4, for=198.51.100.17;proto=https, for=10.1.1.1")
    assert params["REMOTE_ADDR"] == "198.51.100.17"


def test_forwarded_several_elements_all_trusted() -> None:
    params = applied(HTTP_FORWARDED='for=10.5.5.5, for="[2001:db8:ffff::1]:80", for=127.0.0.1')
    assert params["REMOTE_ADDR"] == "10.5.5.5"


def test_forwarded_proto_and_host_from_the_nearest_element() -> None:
    params = applied(
        HTTP_FORWARDED=(
            "for=1.2.3.4;proto=http;host=spoofed.example, for=198.51.100.17;proto=https;host=shop.example"
        )
    )
    assert params["REQUEST_SCHEME"] == "https" and params["HTTPS"] == "on"
    assert params["HTTP_HOST"] == "shop.example"


def test_forwarded_bogus_proto_ignored() -> None:
    params = applied(HTTP_FORWARDED="for=192.0.2.1;proto=gopher")
    assert params["REQUEST_SCHEME"] == "http" and "HTTPS" not in params


def test_forwarded_host_with_control_characters_ignored() -> None:
    params = applied(HTTP_FORWARDED='for=192.0.2.1;host="evil\r\nX: y"')
    assert params["HTTP_HOST"] == "backend.internal:8000"


def test_forwarded_without_for_keeps_the_peer() -> None:
    params = applied(HTTP_FORWARDED="proto=https;host=www.example.com")
    assert params["REMOTE_ADDR"] == "10.0.0.2" and params["REMOTE_PORT"] == "51234"
    assert params["REQUEST_SCHEME"] == "https"
    assert params["HTTP_HOST"] == "www.example.com"


def test_forwarded_takes_precedence_over_x_forwarded() -> None:
    params = applied(
        HTTP_FORWARDED="for=192.0.2.60;proto=https;host=real.example",
        HTTP_X_FORWARDED_FOR="6.6.6.6",
        HTTP_X_FORWARDED_PROTO="http",
        HTTP_X_FORWARDED_HOST="xfh.example",
    )
    assert params["REMOTE_ADDR"] == "192.0.2.60"
    assert params["REQUEST_SCHEME"] == "https"
    assert params["HTTP_HOST"] == "real.example"


def test_forwarded_present_means_x_forwarded_is_not_read_at_all() -> None:
    # A Forwarded header without proto/host does not let X-Forwarded-Proto through.
    params = applied(
        HTTP_FORWARDED="for=192.0.2.60",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="xfh.example",
        HTTP_X_FORWARDED_FOR="6.6.6.6",
    )
    assert params["REMOTE_ADDR"] == "192.0.2.60"
    assert params["REQUEST_SCHEME"] == "http" and "HTTPS" not in params
    assert params["HTTP_HOST"] == "backend.internal:8000"


# -- REMOTE_PORT ------------------------------------------------------------------------


def test_remote_port_kept_without_a_client_address() -> None:
    params = applied(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_HOST="a.example")
    assert params["REMOTE_PORT"] == "51234"


def test_remote_port_removed_when_remote_addr_changes() -> None:
    for headers in ({"HTTP_X_FORWARDED_FOR": "203.0.113.7"}, {"HTTP_FORWARDED": "for=203.0.113.7"}):
        params = applied(**headers)
        assert params["REMOTE_ADDR"] == "203.0.113.7"
        assert "REMOTE_PORT" not in params, headers


def test_no_remote_port_to_begin_with() -> None:
    params = base(HTTP_X_FORWARDED_FOR="203.0.113.7")
    del params["REMOTE_PORT"]
    apply_forwarded(params, trusts)
    assert params["REMOTE_ADDR"] == "203.0.113.7" and "REMOTE_PORT" not in params


def test_unknown_and_obfuscated_nodes_never_become_remote_addr() -> None:
    """RFC 7239 allows `for=unknown` and `for=_hidden`: they are not addresses."""
    for header in ("for=unknown", 'for="_gazonk"', "for=unknown, for=_x"):
        params = {"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5", "HTTP_FORWARDED": header}
        apply_forwarded(params, lambda address: address == "127.0.0.1")
        assert params["REMOTE_ADDR"] == "127.0.0.1", header
    params = {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=192.0.2.7, for=unknown"}
    apply_forwarded(params, lambda address: address == "127.0.0.1")
    assert params["REMOTE_ADDR"] == "192.0.2.7"
