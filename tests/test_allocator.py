"""The C allocator is settled where glibc offers the knobs, and left alone elsewhere."""

import platform

import pytest

from triage import allocator


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_takes_the_settings():
    assert allocator.settle_allocator() is True
    assert allocator.settle_allocator() is True  # again: harmless


def test_other_systems_are_left_alone(monkeypatch):
    monkeypatch.setattr(allocator.platform, "system", lambda: "Darwin")
    assert allocator.settle_allocator() is False


def test_a_libc_without_mallopt_is_left_alone(monkeypatch):
    class NoMallopt:
        def __init__(self, name):
            pass

    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("glibc", "2.36"))
    monkeypatch.setattr(allocator.platform, "system", lambda: "Linux")
    monkeypatch.setattr(allocator.ctypes, "CDLL", NoMallopt)
    assert allocator.settle_allocator() is False
