"""``GET /metrics``: Prometheus text format, from one registry per application.

Figures are read from the live state when scraped (nothing counts on the side, so nothing can
drift). Labels carry kinds and states only, never a name, an address or a session code: a
monitoring system is not a place for who talked to their counselor. Only clients in
``metrics_allow`` (default: the machine itself) may read it.
"""

from __future__ import annotations

from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from rtc import DownlinkReport
from server.live.registry import LIVE_SESSIONS
from server.platform.metrics_access import check_metrics_reader
from server.platform.settings import SETTINGS

# (metric name, help, field of rtc.CountersSnapshot)
MEDIA_COUNTERS = (
    ("lingkar_packets_received", "RTP packets received from publishers.", "packets_received"),
    ("lingkar_packets_forwarded", "RTP packets forwarded to subscribers.", "packets_forwarded"),
    ("lingkar_bytes_forwarded", "RTP payload bytes forwarded to subscribers.", "bytes_forwarded"),
    ("lingkar_retransmissions", "Packets re-sent to subscribers after a NACK.", "retransmissions"),
    (
        "lingkar_keyframe_requests_received",
        "Keyframe requests from subscribers and the forwarding core.",
        "keyframe_requests_received",
    ),
    (
        "lingkar_keyframe_requests_forwarded",
        "Keyframe requests sent to publishers (after throttling).",
        "keyframe_requests_forwarded",
    ),
    (
        "lingkar_drops_congested",
        "Packets dropped for a subscriber whose socket buffer was full.",
        "drops_congested",
    ),
    (
        "lingkar_drops_paced",
        "Video packets dropped after waiting too long in a weak subscriber's pacer.",
        "drops_paced",
    ),
    (
        "lingkar_layer_switches",
        "Subscribers moved to another simulcast layer of a video (at a keyframe).",
        "layer_switches",
    ),
    (
        "lingkar_keyframe_requests_limited",
        "Subscribers' keyframe requests not passed on to publishers (too frequent).",
        "keyframe_requests_limited",
    ),
    (
        "lingkar_offers_refused_no_media_port",
        "Offers refused: no free UDP port in media_ports (widen the range).",
        "offers_without_port",
    ),
    (
        "lingkar_peers_never_connected",
        "Peer connections closed because ICE and DTLS did not complete within 30 s.",
        "peers_never_connected",
    ),
    (
        "lingkar_nacks_refused_congested",
        "Lost packets not resent: the subscriber's link was congested.",
        "nacks_refused_congested",
    ),
    (
        "lingkar_nacks_refused_late",
        "Lost packets not resent: the copy would arrive too late.",
        "nacks_refused_late",
    ),
    (
        "lingkar_nacks_refused_repeat",
        "Lost packets not resent: already resent once.",
        "nacks_refused_repeat",
    ),
    (
        "lingkar_simulcast_packets_unknown_layer",
        "Simulcast packets dropped: a RID the browser did not offer.",
        "packets_unknown_layer",
    ),
    (
        "lingkar_layers_without_keyframe",
        "Times a simulcast layer was set aside because its keyframe did not come.",
        "layers_without_keyframe",
    ),
    ("lingkar_decodes", "Frames decoded on the server (must stay 0).", "decodes"),
    ("lingkar_encodes", "Frames encoded on the server (must stay 0).", "encodes"),
)


class LingkarCollector(Collector):
    """Sessions, people and the forwarding counters of this process, read at scrape time."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        live = self._app.get(LIVE_SESSIONS)
        sessions = live.all() if live is not None else []
        yield GaugeMetricFamily("lingkar_sessions_open", "Sessions open now.", value=len(sessions))
        people = GaugeMetricFamily(
            "lingkar_participants", "People in open sessions, by state.", labels=["state"]
        )
        people.add_metric(["waiting"], sum(len(s.waiting()) for s in sessions))
        people.add_metric(["admitted"], sum(len(s.admitted()) for s in sessions))
        yield people
        totals = live.counter_totals() if live is not None else {}
        for name, text, field in MEDIA_COUNTERS:
            yield CounterMetricFamily(name, text, value=totals.get(field, 0))
        yield from _downlinks(live.downlinks() if live is not None else [])


# Buckets of the subscribers' estimated downlinks, in bits per second: a weak mobile link, a
# fair one, Wi-Fi.
DOWNLINK_BUCKETS = (250_000, 500_000, 1_000_000, 2_000_000, 4_000_000)


def _downlinks(reports: list[DownlinkReport]) -> Iterator[Metric]:
    """Per subscriber, without names: videos paused for their link, their link's quality, and
    a histogram of their estimated downlinks."""
    paused = sum(1 for r in reports for v in r.videos.values() if v.state == "paused")
    yield GaugeMetricFamily(
        "lingkar_videos_paused",
        "Videos paused now because a subscriber's link (or data budget) cannot take them.",
        value=paused,
    )
    quality = GaugeMetricFamily(
        "lingkar_subscriber_links", "Subscribers by the quality of their link.", labels=["quality"]
    )
    for level in ("good", "weak", "very_weak"):
        quality.add_metric([level], sum(1 for r in reports if r.quality == level))
    yield quality
    buckets = [(str(b), sum(1 for r in reports if r.estimate_bps <= b)) for b in DOWNLINK_BUCKETS]
    buckets.append(("+Inf", len(reports)))
    yield HistogramMetricFamily(
        "lingkar_downlink_estimate_bps",
        "Subscribers' estimated downlinks now (bits per second).",
        buckets=buckets,
        sum_value=sum(r.estimate_bps for r in reports),
    )


# This application's Prometheus registry: one per app, never global.
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


def create_registry(app: web.Application) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    # process_cpu_seconds_total, process_resident_memory_bytes, open file descriptors.
    ProcessCollector(registry=registry)
    registry.register(LingkarCollector(app))
    return registry


async def metrics(request: web.Request) -> web.Response:
    check_metrics_reader(request.app[SETTINGS], request.remote)
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(
        body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )


def setup_metrics(app: web.Application) -> None:
    app[METRICS_REGISTRY] = create_registry(app)
    app.router.add_get("/metrics", metrics, name="metrics")
