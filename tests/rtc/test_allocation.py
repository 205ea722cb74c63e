"""The allocation's rules and the downlink estimate, as pure functions of their inputs."""

from __future__ import annotations

from rtc.allocation import RESUME_MARGIN, UPGRADE_MARGIN, Option, allocate
from rtc.bandwidth import BASE_HOLD_S, LOSS_HIGH, BandwidthEstimate
from rtc.downlink import BASE_RETURN_WAIT_S, MAX_RETURN_WAIT_S, ReturnWaits

LAYERS = [(0, 100_000.0), (1, 300_000.0), (2, 800_000.0)]


def test_priority_first_then_each_climbs_one_layer() -> None:
    leader = Option("leader", 0, LAYERS, current=0)
    other = Option("other", 2, LAYERS, current=0)
    chosen = allocate(10_000_000, [other, leader])
    assert chosen == {"leader": 1, "other": 1}  # one step above what each has, per turn


def test_lower_priority_never_has_video_while_higher_has_none() -> None:
    screen = Option("screen", 0, [(0, 900_000.0)], current=0)
    member = Option("member", 2, LAYERS, current=0)
    chosen = allocate(500_000, [member, screen])
    assert chosen == {"screen": None, "member": None}


def test_keeping_needs_no_margin_but_climbing_and_resuming_do() -> None:
    kept = Option("a", 0, LAYERS, current=1)
    assert allocate(300_000, [kept])["a"] == 1
    climbing = Option("a", 0, LAYERS, current=1)
    short = 300_000 + (800_000 - 300_000) * UPGRADE_MARGIN - 1
    assert allocate(short, [climbing])["a"] == 1
    assert allocate(short + 2, [climbing])["a"] == 2
    paused = Option("a", 0, LAYERS, current=None)
    assert allocate(100_000 * RESUME_MARGIN - 1, [paused])["a"] is None
    assert allocate(100_000 * RESUME_MARGIN + 1, [paused])["a"] == 0


def test_held_upgrades_keep_what_is_there() -> None:
    on = Option("on", 1, LAYERS, current=1)
    off = Option("off", 2, LAYERS, current=None)
    chosen = allocate(10_000_000, [on, off], allow_upgrade=False)
    assert chosen == {"on": 1, "off": None}


def test_a_layer_too_big_for_the_tile_steps_down_without_margin() -> None:
    # The tile shrank: only q and h are offered now, and the video had f.
    shrunk = Option("a", 0, LAYERS[:2], current=2)
    assert allocate(300_000, [shrunk], allow_upgrade=False)["a"] == 1


def test_estimate_grows_only_while_quiet_and_up_to_what_is_sent() -> None:
    estimate = BandwidthEstimate(initial_bps=500_000)
    estimate.update(0.0, 100_000)
    for second in range(1, 20):
        estimate.update(float(second), 100_000)
    # 1.5 times what is sent plus the allowance: it never runs far ahead of what was tried.
    assert estimate.value() == 500_000  # already above that ceiling: not raised, not cut
    for second in range(20, 40):
        estimate.update(float(second), 1_000_000)
    assert 1_500_000 < estimate.value() <= 1_550_000


def test_a_falling_remb_cuts_and_holds_longer_each_time() -> None:
    estimate = BandwidthEstimate(initial_bps=2_000_000)
    estimate.on_remb(1_500_000, 0.0, video_bps=1_400_000)
    estimate.update(0.0, 1_400_000)
    estimate.on_remb(1_100_000, 1.0, video_bps=1_250_000)  # Chromium saw a queue: it fell
    assert estimate.congested(1.0)
    estimate.update(1.0, 1_250_000)
    assert estimate.value() == 1_100_000
    estimate.update(1.0 + BASE_HOLD_S - 0.1, 1_000_000)
    assert estimate.value() == 1_100_000  # holds still
    estimate.on_remb(1_250_000, 1.0 + BASE_HOLD_S, video_bps=1_000_000)  # keeps up again
    estimate.update(1.0 + BASE_HOLD_S + 1.0, 1_000_000)
    assert estimate.value() > 1_100_000  # grows again
    grown = estimate.value()
    estimate.on_remb(900_000, 6.0, video_bps=1_000_000)  # soon after: the hold doubles
    estimate.update(6.0, 1_000_000)
    assert estimate.value() == 900_000 < grown
    estimate.on_remb(1_000_000, 6.1, video_bps=900_000)
    estimate.update(6.0 + BASE_HOLD_S + 0.5, 900_000)
    assert estimate.value() == 900_000
    estimate.update(6.0 + 2 * BASE_HOLD_S + 0.5, 900_000)
    assert estimate.value() > 900_000


def test_one_episode_takes_off_at_most_15_percent_unless_loss_goes_on() -> None:
    estimate = BandwidthEstimate(initial_bps=1_000_000)
    estimate.on_remb(900_000, 0.0, video_bps=800_000)
    estimate.update(0.0, 1_000_000)
    estimate.on_remb(200_000, 0.5, video_bps=300_000)  # a deep fall, in one step, no loss
    estimate.update(0.5, 1_000_000)
    assert estimate.value() == 850_000  # GCC's decrease: a queue seen, nothing dropped yet
    estimate.on_loss(0.4, 0.75)  # loss at once: still the same episode
    estimate.update(0.75, 850_000)
    assert estimate.value() == 850_000
    estimate.on_loss(0.4, 2.0)  # and it goes on: now it cuts further
    estimate.update(2.0, 850_000)
    assert estimate.value() < 850_000


def test_a_falling_remb_while_packets_are_lost_takes_off_up_to_30_percent() -> None:
    estimate = BandwidthEstimate(initial_bps=1_000_000)
    estimate.on_remb(900_000, 0.0, video_bps=800_000)
    estimate.on_loss(0.05, 0.1)  # some loss, not enough to signal by itself
    estimate.update(0.1, 1_000_000)
    assert estimate.cuts == 0
    estimate.on_remb(200_000, 0.5, video_bps=300_000)
    estimate.update(0.5, 1_000_000)
    assert estimate.value() == 700_000


def test_growth_waits_while_the_remb_lags_behind_the_video() -> None:
    estimate = BandwidthEstimate(initial_bps=400_000)
    estimate.on_remb(200_000, 0.0, video_bps=300_000)
    estimate.update(0.0, 350_000, 50_000)
    estimate.update(2.0, 350_000, 50_000)
    assert estimate.value() == 400_000  # a full link's REMB cannot pass what gets through
    estimate.on_remb(330_000, 2.5, video_bps=300_000)
    estimate.update(4.0, 350_000, 50_000)
    assert estimate.value() > 400_000


def test_a_restarted_remb_climbing_back_lets_the_target_grow() -> None:
    # Video came back after a pause: Chromium's estimator starts over far below what it
    # receives and climbs about 8 % a second. While it climbs it has seen no queue.
    estimate = BandwidthEstimate(initial_bps=400_000)
    estimate.on_remb(60_000, 0.0, video_bps=0)  # paused: nothing to judge
    estimate.on_remb(90_000, 1.0, video_bps=300_000)
    estimate.update(1.0, 350_000, 50_000)
    for step in range(2, 4):
        estimate.on_remb(90_000 * 1.08**step, float(step), video_bps=300_000)
        estimate.update(float(step), 350_000, 50_000)
    assert estimate.value() > 400_000
    assert estimate.cuts == 0
    grown = estimate.value()
    # It falls while it climbed back: a queue it saw, a cut, and the usual rule again.
    estimate.on_remb(90_000, 3.5, video_bps=300_000)
    estimate.update(3.5, 350_000, 50_000)
    assert estimate.cuts == 1
    assert estimate.value() < grown
    cut = estimate.value()
    estimate.on_remb(95_000, 20.0, video_bps=300_000)
    estimate.update(20.0, 350_000, 50_000)
    estimate.on_remb(100_000, 21.0, video_bps=300_000)
    estimate.update(22.0, 350_000, 50_000)
    assert estimate.value() == cut  # lagging and not a restart: it waits


def test_growth_waits_for_a_lagging_remb_that_did_not_restart() -> None:
    estimate = BandwidthEstimate(initial_bps=400_000)
    estimate.on_remb(300_000, 0.0, video_bps=300_000)
    estimate.on_remb(150_000, 1.0, video_bps=300_000)  # a fall with video flowing
    estimate.update(1.0, 350_000, 50_000)
    assert estimate.cuts == 1
    cut = estimate.value()
    for step in range(2, 30):
        estimate.on_remb(150_000 * 1.05**step, float(step), video_bps=300_000)
        estimate.update(float(step), 350_000, 50_000)
        if 150_000 * 1.05**step < 300_000 * 0.9:
            assert estimate.value() == cut
    assert estimate.value() > cut  # once it keeps up again


def test_a_probe_far_above_where_the_link_failed_forgets_the_failure() -> None:
    estimate = BandwidthEstimate(initial_bps=400_000)
    estimate.on_loss(0.4, 0.0)
    estimate.update(0.0, 300_000)
    failed = estimate.failed_at
    assert failed is not None
    estimate.proven(failed * 1.1)
    assert estimate.failed_at == failed * 1.1  # a little more: approached carefully
    estimate.proven(failed * 1.1 * 1.3)
    assert estimate.failed_at is None  # far more: the weak link is gone


def test_a_steady_remb_is_not_a_cut_and_loss_is() -> None:
    estimate = BandwidthEstimate(initial_bps=1_000_000)
    for second in range(10):
        estimate.on_remb(600_000 + second * 1000, float(second))  # trails what arrives
        estimate.update(float(second), 600_000)
    assert not estimate.congested(9.0)
    assert estimate.cuts == 0
    estimate.on_loss(LOSS_HIGH + 0.1, 10.0)
    estimate.update(10.0, 600_000)
    assert estimate.congested(10.0)
    assert estimate.value() <= 600_000 * (1 - (LOSS_HIGH + 0.1) / 2) + 1


def test_a_thumbnail_the_budget_paused_waits_longer_each_time_its_return_fails() -> None:
    waits = ReturnWaits()
    leader = Option("leader", 1, LAYERS[:1], current=0)

    def turn(now: float, member_had: int | None, member_gets: int | None) -> list[object]:
        member = Option("member", 2, LAYERS[:1], current=member_had)
        waits.note([leader, member], {"leader": 0, "member": member_gets}, now)
        return list(waits.held(now))

    assert turn(0.0, 0, None) == ["member"]  # paused by the budget: it waits
    assert turn(BASE_RETURN_WAIT_S - 0.1, None, None) == ["member"]
    assert turn(BASE_RETURN_WAIT_S, None, 0) == []  # back
    # Paused again soon after it came back: the next wait is twice as long.
    assert turn(BASE_RETURN_WAIT_S + 5, 0, None) == ["member"]
    assert turn(BASE_RETURN_WAIT_S * 3 + 4.9, None, None) == ["member"]
    assert turn(BASE_RETURN_WAIT_S * 3 + 5, None, 0) == []
    at = 100.0
    for _ in range(5):  # it keeps failing soon after each return: the wait stops at the maximum
        turn(at, 0, None)
        turn(at + MAX_RETURN_WAIT_S, None, 0)
        at += MAX_RETURN_WAIT_S + 5
    assert turn(at, 0, None) == ["member"]
    assert waits.held(at + MAX_RETURN_WAIT_S - 0.1) == ["member"]
    assert waits.held(at + MAX_RETURN_WAIT_S) == []
    # The leader (first class) never waits here: its return is the probe's business.
    waits.note([Option("leader", 1, LAYERS[:1], current=0)], {"leader": None}, 6000.0)
    assert waits.held(6000.0) == []
    # A tile that is hidden (no layers offered) stops its video without a wait.
    waits.note([Option("member", 2, (), current=0)], {"member": None}, 7000.0)
    assert waits.held(7000.0) == []


def test_held_videos_stay_paused_and_the_others_share_the_budget() -> None:
    held = Option("held", 2, LAYERS, current=None)
    free = Option("free", 2, LAYERS, current=None)
    chosen = allocate(10_000_000, [held, free], held=["held"])
    assert chosen == {"held": None, "free": 0}
