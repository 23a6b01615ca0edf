"""The exporter's metric families, built from one sample's figures.

Why a module of its own: names, types, HELP texts and label sets are the exporter's public
contract (dashboards and alerts depend on them), so they are spelled in one place. Built once
per sample; a scrape only serialises them.
"""

from __future__ import annotations

from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from core.connections.snapshot import Snapshot
from core.ipsec.counters import COUNTERS, CounterSpec
from core.ipsec.model import COUNTER_FIELDS, Grade, IpsecView, Kind, ProviderView
from core.metrics.connections import ConnectionFigures

PREFIX: Final = "tcpscope"
CONNECTION_LABELS: Final = ("state", "process", "netns")
"""Labels of ``tcpscope_connections`` (``netns``: empty for tcpscope's own namespace)."""


def connection_families(figures: ConnectionFigures) -> list[Metric]:
    """``tcpscope_connections`` and the per-process traffic counters."""
    conns = GaugeMetricFamily(
        f"{PREFIX}_connections",
        "TCP connections by seed State (MSFT_NetTCPConnection.State), owning process name and "
        "network namespace (netns: empty for tcpscope's own); processes beyond the top N by "
        'connection count are process="other"',
        labels=CONNECTION_LABELS,
    )
    for (state, process, netns), count in sorted(figures.by_state.items()):
        conns.add_metric([state, process, netns], count)
    covered = (
        "; only connections with tcp_info count (absent for a process none of whose "
        "connections has it, see tcpscope_connections_without_tcp_info)"
    )
    received = CounterMetricFamily(
        f"{PREFIX}_process_bytes_received",
        "Bytes received on the process's TCP connections since tcpscope started "
        f"(tcp_info bytes_received){covered}",
        labels=["process"],
    )
    sent = CounterMetricFamily(
        f"{PREFIX}_process_bytes_sent",
        "Bytes sent and acknowledged by the peer on the process's TCP connections since "
        f"tcpscope started (tcp_info bytes_acked){covered}",
        labels=["process"],
    )
    retransmits = CounterMetricFamily(
        f"{PREFIX}_process_retransmits",
        "TCP segments the process's connections retransmitted since tcpscope started "
        f"(tcp_info total_retrans){covered}",
        labels=["process"],
    )
    for process, traffic in figures.traffic.items():
        received.add_metric([process], traffic.bytes_received)
        sent.add_metric([process], traffic.bytes_sent)
        retransmits.add_metric([process], traffic.retransmits)
    without = GaugeMetricFamily(
        f"{PREFIX}_connections_without_tcp_info",
        "Connections of the process in the last sample without tcp_info, so not in its byte "
        "and retransmit counters: those of a network namespace tcpscope cannot enter (no "
        "CAP_SYS_ADMIN), read from /proc/PID/net/tcp; every one under --source psutil; "
        "TimeWait, SynReceived and Bound sockets, which have none",
        labels=["process"],
    )
    for process, count in figures.without_tcp_info.items():
        without.add_metric([process], count)
    return [conns, received, sent, retransmits, without]


def _up(provider: ProviderView) -> int:
    return int(provider.available and provider.error is None and provider.stats.active)


def ipsec_help(spec: CounterSpec) -> str:
    """HELP of one IPsec counter's family: the seed's description, and, where the kernel
    provider's value is only a proxy for it, what that value counts instead.

    Why the kernel's note only: one family (so one HELP) carries every provider's series; the
    kernel provider reports on any Linux host, with no daemon and no root, and its proxies
    count something other than IKE's own figures (bytes queued in the IKE sockets, failed
    sends of any UDP socket, larval SAs), where the daemons' count IKE events by another rule.
    ``explain`` and the README's mapping give every provider's grade.
    """
    text = f"MSiSCSI_MMIPSECStats.{spec.name}: {spec.description}"
    kernel = spec.kernel
    if kernel.grade is not Grade.APPROX:
        return text
    return (
        f"{text.rstrip('.')}. The kernel provider's value is approximate: {kernel.reason} "
        f"(source: {kernel.expression})"
    )


def ipsec_families(view: IpsecView | None) -> list[Metric]:
    """``tcpscope_ipsec_up`` and one family per reported MSiSCSI_MMIPSECStats counter.

    A counter no provider reports has no sample at all (Prometheus' convention for "unknown"),
    never a 0 that would read as "nothing happened".
    """
    if view is None:
        return []
    up = GaugeMetricFamily(
        f"{PREFIX}_ipsec_up",
        "1 when the IPsec provider's source could be read in the last IPsec sample, else 0",
        labels=["provider"],
    )
    for provider in view.providers:
        up.add_metric([provider.name], _up(provider))
    out: list[Metric] = [up]
    for wmi, attr in COUNTER_FIELDS:
        spec = COUNTERS[wmi]
        name = f"{PREFIX}_ipsec_{attr}"
        help_text = ipsec_help(spec)
        kind = CounterMetricFamily if spec.kind is Kind.TOTAL else GaugeMetricFamily
        family = kind(name, help_text, labels=["provider"])
        for provider in view.providers:
            value: int | None = getattr(provider.stats, attr)
            if value is not None:
                family.add_metric([provider.name], value)
        if family.samples:
            out.append(family)
    out += lower_bound_families(view)
    out += event_gap_families(view)
    return out


def event_gap_families(view: IpsecView) -> list[Metric]:
    """``tcpscope_ipsec_event_gaps_total{provider}``: times since tcpscope started that the
    provider's totals counted from events may have missed some.

    Why a counter besides the lower-bound gauge: the gauge stays 1 after the first gap, so a
    later gap (and the SAs missed in it) changed no series; ``increase()`` of this counter over
    a window says whether that window may have lost events. Absent for a provider that counts
    nothing from events.
    """
    family = CounterMetricFamily(
        f"{PREFIX}_ipsec_event_gaps",
        "Times since tcpscope started that the provider's totals counted from events may have "
        "missed some: its event listener lost the daemon or reached one that started later "
        "only after it could have acted (strongswan), or the XFRM netlink socket overflowed "
        "with ENOBUFS (kernel)",
        labels=["provider"],
    )
    for provider in view.providers:
        if provider.event_gaps is not None:
            family.add_metric([provider.name], provider.event_gaps)
    return [family] if family.samples else []


def lower_bound_families(view: IpsecView) -> list[Metric]:
    """``tcpscope_ipsec_lower_bound{provider,counter}``: 1 where a reported total counted from
    events (scope "since monitor start") may have missed some, 0 where it counted them all.

    Why a series of its own: events missed while tcpscope's listener had lost the daemon (or
    the kernel's netlink buffer overflowed) are gone for good, so the total is only a lower
    bound; a scrape must be able to tell without the TUI's detail pane or ``--json`` (alerts
    use :func:`event_gap_families`, which goes up at each gap).
    """
    family = GaugeMetricFamily(
        f"{PREFIX}_ipsec_lower_bound",
        "1 when the provider's value of this total, counted by tcpscope from events since it "
        "started, may be only a lower bound after any gap since then (strongswan: its event "
        "listener lost the daemon or reached a new one late; kernel: the XFRM netlink socket "
        "overflowed with ENOBUFS), else 0; stays 1 for the run: "
        "tcpscope_ipsec_event_gaps_total counts each gap",
        labels=["provider", "counter"],
    )
    for provider in view.providers:
        for row in provider.rows:
            if row.scope is not None and row.value is not None:
                family.add_metric([provider.name, row.name], int(row.lower_bound is not None))
    return [family] if family.samples else []


def namespace_counts(snap: Snapshot) -> tuple[int, int]:
    """(read, failed) network namespaces of the sample: those ``--netns`` chose and could be
    read, and those it found but could not (a failed sample: none read)."""
    view = snap.namespaces
    if snap.error is not None:
        return 0, max(1, len(view.present)) if view is not None else 1
    if view is None:  # the current namespace only (--netns current, the demo host)
        return 1, 0
    return view.shown, view.unreadable


def self_families(snap: Snapshot, last_good: float | None) -> list[Metric]:
    """Whether the last connection sample succeeded, what it cost, and when the exporter got
    the last good one (``last_good``: Unix time on the real clock; None before any).

    Why the cost gauges are absent after a failed sample: the sampler keeps showing the last
    good rows, but a failed sample saw no sockets and took no measurable time; serving the
    old figures (or a 0) would say the host was read when it was not.
    """
    read, failed = namespace_counts(snap)
    ok = snap.error is None
    figures: list[tuple[str, str, float]] = [
        ("source_up", "1 when the last connection sample succeeded, else 0", int(ok)),
    ]
    if ok:
        figures += [
            (
                "sample_duration_seconds",
                "Wall time of the last connection sample",
                snap.stats.sample_ms / 1000,
            ),
            ("sample_sockets", "Sockets the last connection sample saw", snap.stats.sockets),
        ]
    figures += [
        ("namespaces_read", "Network namespaces the last sample read", read),
        ("namespaces_failed", "Network namespaces the last sample failed to read", failed),
    ]
    if last_good is not None:
        figures.append(
            (
                "last_sample_timestamp_seconds",
                "Unix time the exporter got its last successful connection sample",
                last_good,
            )
        )
    return [GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value) for name, doc, value in figures]
