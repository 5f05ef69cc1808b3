"""The test session refuses to resolve any host but loopback, so no test can reach a real wiki."""

from __future__ import annotations

import socket

import pytest


def test_real_wikimedia_hosts_cannot_be_resolved() -> None:
    with pytest.raises(OSError, match=r"tests may only talk to 127\.0\.0\.1"):
        socket.getaddrinfo("meta.wikimedia.org", 443)


def test_loopback_still_resolves() -> None:
    assert socket.getaddrinfo("127.0.0.1", 80)
