"""``[user@]host[:port]`` parsing and the ssh command line (``TCPSCOPE_SSH``)."""

from __future__ import annotations

import os

import pytest

from core.errors import UsageError
from core.remote.target import RemoteTarget, parse_target, ssh_argv


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web1", RemoteTarget("web1")),
        ("alice@web1", RemoteTarget("web1", "alice")),
        ("alice@web1:2222", RemoteTarget("web1", "alice", 2222)),
        ("10.0.0.5:22", RemoteTarget("10.0.0.5", None, 22)),
        ("fe80::1", RemoteTarget("fe80::1")),
        ("root@[2001:db8::7]:2200", RemoteTarget("2001:db8::7", "root", 2200)),
    ],
)
def test_targets(text: str, expected: RemoteTarget) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        *("", "-oProxyCommand=x", "a@", "host:0", "host:70000", "host:x", "[::1", "a b"),
        *("@lab", "@lab:22", "lab:22:33", "a:b:c", "u@lab:22:33", "::1:x"),
    ],
)
def test_bad_targets_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--remote"):
        parse_target(text)


def test_ssh_command_is_replaced_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    target = parse_target("alice@web1:2222")
    monkeypatch.delenv("TCPSCOPE_SSH", raising=False)
    assert ssh_argv(target, "CMD", batch=False) == ["ssh", "-T", "-p", "2222", "alice@web1", "CMD"]
    monkeypatch.setenv("TCPSCOPE_SSH", "ssh -F '/home/a b/lab config'")
    assert ssh_argv(target, "CMD", batch=True) == [
        *("ssh", "-F", "/home/a b/lab config", "-T", "-o", "BatchMode=yes"),
        *("-p", "2222", "alice@web1", "CMD"),
    ]
    monkeypatch.setenv("HOME", "/home/alice")  # README's example: ~ is the home, as in a shell
    monkeypatch.setenv("TCPSCOPE_SSH", "ssh -F ~/lab/config -i ~root/k -o X=~/no")
    assert ssh_argv(target, "CMD", batch=False)[:7] == [
        *("ssh", "-F", "/home/alice/lab/config", "-i", f"{os.path.expanduser('~root')}/k"),
        *("-o", "X=~/no"),
    ]
    monkeypatch.setenv("TCPSCOPE_SSH", "ssh 'unclosed")
    with pytest.raises(UsageError, match="TCPSCOPE_SSH"):
        ssh_argv(target, "CMD", batch=False)


def test_a_quoted_tilde_stays_literal(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a shell, only a word that begins with an unquoted ``~`` (and has no quote before
    its first ``/``) names a home: ``"~/q"`` was expanded too (after its quotes were removed)."""
    monkeypatch.setenv("HOME", "/home/alice")
    root = os.path.expanduser("~root")
    line = """/tmp/fakessh -F ~root/x ~nosuchuser/y a~b "~/q" ~ '~' \\~/e ~"root"/z ~/'s p'"""
    monkeypatch.setenv("TCPSCOPE_SSH", line)
    assert ssh_argv(parse_target("web1"), "CMD", batch=False) == [
        *("/tmp/fakessh", "-F", f"{root}/x", "~nosuchuser/y", "a~b", "~/q", "/home/alice"),
        *("~", "~/e", "~root/z", "/home/alice/s p", "-T", "web1", "CMD"),
    ]


def test_netns_choice_goes_to_the_server() -> None:
    """``--netns`` is the server's choice (it used to be refused): it rides in the agent's
    config, and the default, as locally, is every namespace."""
    import argparse

    from core.commands.feeds import options_from_args
    from core.remote.feed import stream_config

    for netns in ("current", "all", "web,42"):
        args = argparse.Namespace(remote="web1", netns=netns)
        options = options_from_args(args, every_tcp_info=False)
        assert options.remote == RemoteTarget("web1") and options.netns == netns
    config = stream_config(
        interval_s=1.0, ghost_ttl_s=5.0, ipsec=False, provider="auto", vici=None,
        every_tcp_info=False, netns="web",
    )  # fmt: skip
    assert config["netns"] == "web"


def test_tui_actions_never_touch_this_host_for_a_remote_feed() -> None:
    from core.commands.feeds import actions_off
    from core.remote.feed import RemoteFeed, stream_config

    config = stream_config(
        interval_s=1.0, ghost_ttl_s=5.0, ipsec=False, provider="auto", vici=None,
        every_tcp_info=False,
    )  # fmt: skip
    reason = actions_off(RemoteFeed(parse_target("web1"), config), "close")
    assert reason is not None and "another host" in reason and "--remote HOST close" in reason
