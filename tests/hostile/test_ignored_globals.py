"""Top-level options a subcommand would silently ignore are refused (one line, exit 2), and a
filter value that is no number is quoted as typed. Real processes: before the fix some of these
ran (a recording, the exporter), which must not happen inside the test runner."""

from __future__ import annotations

import pytest

from tests.hostile.util import one_line_error, tcpscope

IGNORED = [
    (["--netns", "web", "ipsec"], "--netns does not apply to `tcpscope ipsec`"),
    (["--netns", "all", "ipsec"], "--netns does not apply to `tcpscope ipsec`"),  # = default
    (["--netns", "current", "explain", "State"], "--netns does not apply to `tcpscope explain`"),
    (["--filter", "port:1", "ipsec"], "--filter does not apply to `tcpscope ipsec`"),
    (["--filter", "port:1", "explain"], "--filter does not apply to `tcpscope explain`"),
    (
        ["--filter", "port:1", "record", "-", "--samples", "1"],
        "--filter does not apply to `tcpscope record`: a recording keeps every connection",
    ),
    (
        ["--filter", "port:1", "metrics", "--top", "9"],
        "--filter does not apply to `tcpscope metrics`",
    ),
    (
        ["--ghost-ttl", "30", "metrics", "--top", "9"],
        "--ghost-ttl does not apply to `tcpscope metrics`: the exporter counts open connections",
    ),
    # At their default values: "given" was "differs from the default", so these ran.
    (
        ["--ghost-ttl", "5", "metrics", "--top", "9"],
        "--ghost-ttl does not apply to `tcpscope metrics`: the exporter counts open connections",
    ),
    (["--ghost-ttl", "5", "connections"], "--ghost-ttl does not apply to `tcpscope connections`"),
    (["--interval", "1", "explain", "State"], "--interval does not apply to `tcpscope explain`"),
    (["--provider", "auto", "explain", "State"], "--provider does not apply to `tcpscope explain`"),
    (["--seed", "1", "connections"], "--seed does not apply to `tcpscope connections`"),
    (["--source", "auto", "ipsec"], "--source does not apply to `tcpscope ipsec`"),
    (["--filter", "", "ipsec"], "--filter does not apply to `tcpscope ipsec`"),
    (["--remote-python", "/x", "connections"], "--remote-python needs --remote HOST"),
    (["--remote-python", "/x", "ipsec"], "--remote-python needs --remote HOST"),
    (["--remote-python", "/x", "close", "--local-port", "1"], "needs --remote HOST"),
    (["--remote-python", "/x", "explain"], "--remote-python does not apply to `tcpscope explain`"),
    (["--remote-python", "/x", "--demo", "record", "-"], "--remote-python needs --remote HOST"),
    (
        ["--netns", "all", "close", "--local-port", "1", "--netns", "current"],
        "close: --netns given twice ('all' before close, 'current' after)",
    ),
    (
        ["--remote", "h.invalid", "--netns", "web", "close", "--local-port", "1"],
        "close --netns does not apply with --remote",
    ),
]


@pytest.mark.parametrize(("argv", "says"), IGNORED, ids=[" ".join(argv) for argv, _ in IGNORED])
def test_an_ignored_top_level_option_is_refused(argv: list[str], says: str) -> None:
    result = tcpscope(*argv)
    assert says in one_line_error(result)
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("word", "quoted"),
    [
        ("pid:-5", "'-5'"),
        ("port:-5", "'-5'"),
        ("lport:80-x", "'80-x'"),
        ("pid:5-", "'5-'"),
        ("pid:²", "'²'"),  # str.isdigit() took it, int() did not: "invalid _filter value"
        ("port:1-٤", "'1-٤'"),  # int() read it as 4
    ],
)
def test_a_bad_number_in_a_filter_is_quoted_as_typed(word: str, quoted: str) -> None:
    result = tcpscope("connections", "--filter", word)
    line = one_line_error(result)
    assert line.endswith(f"needs a number or a range like 1024-65535, got {quoted}"), line
    assert result.returncode == 2


LIST_THEM = "--netns given twice; list them: --netns a,b"
ONCE = "--netns given twice: give it once"
TWICE = [
    (["connections", "--netns", "a", "--netns", "b"], LIST_THEM),
    (["--netns", "a", "--netns", "b", "connections"], LIST_THEM),
    (["record", "-", "--netns", "a", "--netns", "b"], LIST_THEM),
    (["close", "--local-port", "1", "--netns", "a", "--netns", "b"], LIST_THEM),
    (
        ["--netns", "a", "connections", "--netns", "b"],
        "connections: --netns given twice ('a' before connections, 'b' after)",
    ),
    (
        ["--netns", "a", "record", "-", "--netns", "b"],
        "record: --netns given twice ('a' before record, 'b' after)",
    ),
    # The same value twice is refused as well (README: "Given twice, it is refused").
    (["--netns", "a", "--netns", "a", "connections"], ONCE),
    (["close", "--local-port", "1", "--netns", "a", "--netns", "a"], ONCE),
    (
        ["--netns", "current", "close", "--netns", "current", "--local-port", "1", "--yes"],
        "close: --netns given twice ('current' before close, 'current' after)",
    ),
    (
        ["--netns", "a", "connections", "--netns", "a"],
        "connections: --netns given twice ('a' before connections, 'a' after)",
    ),
    (
        ["--netns", "a", "record", "-", "--netns", "a"],
        "record: --netns given twice ('a' before record, 'a' after)",
    ),
]


@pytest.mark.parametrize(("argv", "says"), TWICE, ids=[" ".join(argv) for argv, _ in TWICE])
def test_netns_given_twice_is_refused(argv: list[str], says: str) -> None:
    """The last ``--netns`` silently replaced the others (``--netns A --netns B`` read only
    B), while ``--filter`` twice ANDs: now refused, one line, as ``close`` already did."""
    result = tcpscope(*argv)
    assert one_line_error(result) == f"tcpscope: {says}"
    assert result.returncode == 2
    assert not result.stdout


@pytest.mark.parametrize("port", ["²", "٤٤"])
def test_a_remote_port_of_other_digits_is_refused(port: str) -> None:
    """``--remote host:²`` was a traceback (``int('²')``); ``host:٤٤`` was read as port 44."""
    result = tcpscope("--remote", f"h.invalid:{port}", "connections")
    assert one_line_error(result) == f"tcpscope: --remote 'h.invalid:{port}': port must be 1-65535"
    assert result.returncode == 2


def test_every_top_level_option_marks_itself_given() -> None:
    """One rule for all: each top-level option's action notes that it appeared, so none is
    told "given" by comparing its value with the default."""
    from core.commands.arg_types import GLOBAL_OPTIONS
    from tui.cli import build_parser

    parser = build_parser(["explain"])
    for action in parser._actions:
        if action.dest in GLOBAL_OPTIONS:
            words = [action.option_strings[0]]
            if action.nargs != 0:
                words.append(str(action.default) if action.default not in (None, "") else "x")
            args = parser.parse_args([*words, "explain"])
            assert getattr(args, f"{action.dest}_given", None), action.dest


VICI_ELSEWHERE = [
    ["--provider", "kernel", "--vici", "/x", "ipsec"],
    ["ipsec", "--provider", "libreswan", "--vici", "/x"],
    ["--vici", "/x", "--provider", "kernel", "--demo"],
]


@pytest.mark.parametrize("argv", VICI_ELSEWHERE, ids=" ".join)
def test_vici_with_a_provider_that_is_not_strongswan_is_refused(argv: list[str]) -> None:
    """``--provider kernel --vici PATH`` read the kernel and dropped the path unsaid: the user
    meant charon at PATH. Refused, one line, as other options that would be ignored."""
    result = tcpscope(*argv)
    provider = argv[argv.index("--provider") + 1]
    assert one_line_error(result) == (
        f"tcpscope: --vici does not apply with --provider {provider}: it is strongSwan's "
        "socket (charon's VICI)"
    )
    assert result.returncode == 2
    assert not result.stdout


def test_vici_with_strongswan_named_is_not_refused() -> None:
    result = tcpscope("--provider", "strongswan", "--vici", "/nonexistent", "ipsec")
    assert b"does not apply" not in result.stderr


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real recording of the demo host, two samples."""
    path = tmp_path_factory.mktemp("moot") / "demo.tsr"
    made = tcpscope("--demo", "record", str(path), "--samples", "2", "--interval", "0.1")
    assert made.returncode == 0, made.stderr
    return str(path)


MADE_UP = "the demo's IPsec figures are made up"
REPLAYED = "the recording's IPsec figures are replayed"
NOT_READ = "no IPsec counters are read"
MOOT = [
    (["--demo", "--vici", "/x", "record", "-", "--samples", "1"], "--vici", "--demo", MADE_UP),
    (
        ["--demo", "--provider", "kernel", "record", "-", "--samples", "1"],
        "--provider",
        "--demo",
        MADE_UP,
    ),
    (["--demo", "--vici", "/x", "metrics", "--listen", "127.0.0.1:0"], "--vici", "--demo", MADE_UP),
    (
        ["--vici", "/x", "metrics", "--no-ipsec", "--listen", "127.0.0.1:0"],
        "--vici",
        "--no-ipsec",
        NOT_READ,
    ),
    (
        ["--provider", "strongswan", "record", "-", "--no-ipsec", "--samples", "1"],
        "--provider",
        "--no-ipsec",
        NOT_READ,
    ),
    (
        ["--no-ipsec", "--provider", "kernel", "record", "-", "--samples", "1"],
        "--provider",
        "--no-ipsec",
        NOT_READ,
    ),
    # The app: before the fix these got as far as "needs a terminal", the options unread.
    (["--demo", "--vici", "/x"], "--vici", "--demo", MADE_UP),
    (["--replay", "F", "--vici", "/x"], "--vici", "--replay", REPLAYED),
    (["--replay", "F", "--provider", "kernel"], "--provider", "--replay", REPLAYED),
    (["--no-ipsec", "--vici", "/x"], "--vici", "--no-ipsec", NOT_READ),
    (["--replay", "F", "--vici", "/x", "record", "-"], "--vici", "--replay", REPLAYED),
]


@pytest.mark.parametrize(
    ("argv", "option", "mode", "why"), MOOT, ids=[" ".join(argv) for argv, *_ in MOOT]
)
def test_ipsec_options_are_refused_where_no_ipsec_counters_are_read(
    argv: list[str], option: str, mode: str, why: str, recording: str
) -> None:
    """``--demo --vici PATH`` recorded the demo's invented counters and never opened PATH
    (nor checked it): the user meant charon there. Refused, one line, nothing written."""
    result = tcpscope(*[recording if word == "F" else word for word in argv])
    assert one_line_error(result) == f"tcpscope: {option} does not apply with {mode}: {why}"
    assert result.returncode == 2
    assert not result.stdout


KEPT_INTERVAL = "a replay keeps the recording's own interval"
KEPT_NAMESPACES = "a replay shows the namespaces the recording holds"
KEPT_WHOLE = "a replay shows the recording whole, its IPsec figures too"
REPLAY_MOOT = [
    (["record", "-", "--netns", "current"], "--netns", KEPT_NAMESPACES),
    (["--netns", "all", "record", "-"], "--netns", KEPT_NAMESPACES),
    (["record", "-", "--no-ipsec"], "--no-ipsec", KEPT_WHOLE),
    (["--no-ipsec", "record", "-"], "--no-ipsec", KEPT_WHOLE),
    (["record", "-", "--interval", "2"], "--interval", KEPT_INTERVAL),
    (["--interval", "1", "record", "-"], "--interval", KEPT_INTERVAL),
    (["--interval", "2"], "--interval", KEPT_INTERVAL),  # the app
    (["--netns", "current"], "--netns", KEPT_NAMESPACES),
]


@pytest.mark.parametrize(
    ("argv", "option", "why"), REPLAY_MOOT, ids=[" ".join(argv) for argv, *_ in REPLAY_MOOT]
)
def test_a_replay_refuses_what_it_would_not_apply(
    argv: list[str], option: str, why: str, recording: str
) -> None:
    """``--replay F record OUT --interval 2`` re-recorded F whole at F's own interval, and
    ``--netns`` and ``--no-ipsec`` were dropped the same way: now each is refused."""
    result = tcpscope("--replay", recording, *argv)
    assert one_line_error(result) == f"tcpscope: {option} does not apply with --replay: {why}"
    assert result.returncode == 2
    assert not result.stdout


def test_a_redacted_re_record_still_runs(recording: str) -> None:
    """``--redact`` is applied to a re-record: not refused with the others."""
    result = tcpscope("--replay", recording, "record", "-", "--redact")
    assert result.returncode == 0, result.stderr
    assert result.stdout


ONCE_TWICE = [
    (
        ["--vici", "/x", "ipsec", "--vici", "/y"],
        "ipsec: --vici given twice ('/x' before ipsec, '/y' after)",
    ),
    (
        ["--vici", "/x", "ipsec", "--vici", "/x"],
        "ipsec: --vici given twice ('/x' before ipsec, '/x' after)",
    ),
    (
        ["--provider", "kernel", "ipsec", "--provider", "auto"],
        "ipsec: --provider given twice ('kernel' before ipsec, 'auto' after)",
    ),
    (["--vici", "/x", "--vici", "/y", "ipsec"], "--vici given twice: give it once"),
    (["ipsec", "--vici", "/x", "--vici", "/y"], "--vici given twice: give it once"),
    (
        ["--provider", "kernel", "--provider", "auto", "ipsec"],
        "--provider given twice: give it once",
    ),
    (
        ["ipsec", "--provider", "kernel", "--provider", "auto"],
        "--provider given twice: give it once",
    ),
    (["--netns", "current", "--netns", "all", "connections"], "--netns given twice: give it once"),
    (["connections", "--netns", "a", "--netns", "all"], "--netns given twice: give it once"),
    (["--netns", "current", "--netns", "a", "connections"], "--netns given twice: give it once"),
]


@pytest.mark.parametrize(
    ("argv", "says"), ONCE_TWICE, ids=[" ".join(argv) for argv, _ in ONCE_TWICE]
)
def test_vici_and_provider_given_twice_are_refused(argv: list[str], says: str) -> None:
    """``--vici /x ipsec --vici /y`` read /y and dropped /x unsaid. And ``--netns current``
    with another: "list them: --netns current,all" suggested what is refused itself."""
    result = tcpscope(*argv)
    assert one_line_error(result) == f"tcpscope: {says}"
    assert result.returncode == 2
    assert not result.stdout


def test_the_top_level_vici_help_names_the_default_socket() -> None:
    """``tcpscope --help`` gave no default for ``--vici`` while ``ipsec --help`` did."""
    import argparse

    from core.ipsec import DEFAULT_VICI
    from tui.cli import build_parser

    parser = build_parser(["ipsec"])
    top = {a.dest: a for a in parser._actions}["vici"]
    assert top.help == f"strongSwan VICI socket (default: {DEFAULT_VICI})"
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    own = {a.dest: a for a in commands.choices["ipsec"]._actions}["vici"]
    assert own.help == top.help


HERE = "the recording is replayed on this machine"
ROWS_REPLAYED = "the recording's connections are replayed"
SEEDS_DEMO = "--seed picks --demo's made-up data"
ROWS_MADE_UP = "the demo's connections are made up"
SERVERS = "the server's connections are shown"
AGENT_NETLINK = "the server's agent reads its sockets with netlink (sock_diag)"
MOOT_ROWS = [
    (["--replay", "F", "--remote", "h"], ("--remote", "--replay", HERE)),
    (["--replay", "F", "--source", "psutil"], ("--source", "--replay", ROWS_REPLAYED)),
    (["--replay", "F", "--seed", "3"], ("--seed", "--replay", SEEDS_DEMO)),
    (["--demo", "--source", "psutil"], ("--source", "--demo", ROWS_MADE_UP)),
    (["--demo", "--netns", "current", "record", "-"], ("--netns", "--demo", ROWS_MADE_UP)),
    (["--demo", "--remote", "h"], ("--demo", "--remote", SERVERS)),
    (
        ["--remote", "h", "--source", "psutil", "connections"],
        ("--source", "--remote", AGENT_NETLINK),
    ),
]


@pytest.mark.parametrize(
    ("argv", "refusal"), MOOT_ROWS, ids=[" ".join(argv) for argv, _ in MOOT_ROWS]
)
def test_where_the_rows_come_from_refuses_what_it_drops(
    argv: list[str], refusal: tuple[str, str, str], recording: str
) -> None:
    """A replay dropped ``--remote``, ``--source`` and ``--seed``, the demo ``--source`` and
    ``--netns``, a remote feed ``--demo`` and ``--source`` (its agent reads by netlink): each
    unsaid. Refused, one line, before anything is opened."""
    option, mode, why = refusal
    result = tcpscope(*[recording if word == "F" else word for word in argv])
    assert one_line_error(result) == f"tcpscope: {option} does not apply with {mode}: {why}"
    assert result.returncode == 2
    assert not result.stdout


def test_a_seed_without_the_demo_is_refused() -> None:
    result = tcpscope("--seed", "3", "record", "-", "--samples", "1")
    assert (
        one_line_error(result) == "tcpscope: --seed needs --demo (it picks the demo's made-up data)"
    )
    assert result.returncode == 2


def test_a_seeded_demo_still_records() -> None:
    result = tcpscope("--demo", "--seed", "3", "record", "-", "--samples", "1")
    assert result.returncode == 0, result.stderr
