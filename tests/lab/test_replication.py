"""The one replication judgement, on hand-made readings: stalled or flowing, and the lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drdrill.lab.replication import (
    STALL_BOUND_S,
    PrimaryReading,
    ReplicationReading,
    StandbyReading,
    judge,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def standby(**changes: object) -> StandbyReading:
    fields: dict[str, object] = {
        "receiver": "streaming",
        "slot": "dr",
        "replayed_lsn": 1000,
        "replayed_at": at(90),
        "started_at": at(0),
        "now": at(100),
        "status_interval_s": 1.0,
        "last_message_at": at(70),  # an idle primary sends little: this may be old
    }
    fields.update(changes)
    return StandbyReading(**fields)  # type: ignore[arg-type]


def primary(**changes: object) -> PrimaryReading:
    fields: dict[str, object] = {
        "flushed_lsn": 1000,
        "committed_at": at(90),
        "now": at(100),
        "sender": True,
        "reply_at": at(99.5),
    }
    fields.update(changes)
    return PrimaryReading(**fields)  # type: ignore[arg-type]


def test_a_caught_up_stream_that_replies_flows_with_lag_zero() -> None:
    state = judge(ReplicationReading(standby(), primary()))

    assert state.flowing and state.stalled is None
    assert (state.state, state.lag_s) == ("streaming", 0.0)


def test_a_flowing_stream_behind_the_primary_lags_by_the_commit_times() -> None:
    state = judge(ReplicationReading(standby(), primary(flushed_lsn=2000, committed_at=at(97))))

    assert state.flowing
    assert state.lag_s == 7.0


def test_a_receiver_silent_past_the_bound_is_stalled_although_it_says_streaming() -> None:
    silent_since = 100 - STALL_BOUND_S - 0.5
    state = judge(ReplicationReading(standby(), primary(reply_at=at(silent_since))))

    assert not state.flowing
    assert state.state == "stalled"
    assert state.stalled is not None and "no reply" in state.stalled


def test_a_silence_within_the_bound_is_not_a_stall() -> None:
    state = judge(ReplicationReading(standby(), primary(reply_at=at(100 - STALL_BOUND_S + 0.5))))

    assert state.flowing


def test_a_stalled_stream_never_reads_lag_zero_when_nothing_is_written() -> None:
    # caught up (same LSN), nothing committed since: only the silence says how stale it is
    state = judge(ReplicationReading(standby(last_message_at=at(80)), primary(reply_at=at(80))))

    assert state.stalled is not None
    assert state.lag_s == 20.0


def test_a_stalled_stream_behind_the_primary_lags_by_the_larger_of_commits_and_silence() -> None:
    reading = ReplicationReading(
        standby(replayed_at=at(50), last_message_at=at(80)),
        primary(flushed_lsn=5000, committed_at=at(99), reply_at=at(80)),
    )

    assert judge(reading).lag_s == 49.0  # the primary's commit at 99 minus the replay at 50


def test_a_long_status_interval_widens_the_bound() -> None:
    # with PostgreSQL's default 10 s interval, 8 s without a reply is normal
    reading = ReplicationReading(standby(status_interval_s=10.0), primary(reply_at=at(92)))

    assert judge(reading).flowing


def test_no_status_replies_at_all_make_silence_meaningless() -> None:
    reading = ReplicationReading(standby(status_interval_s=0.0), primary(reply_at=at(10)))

    assert judge(reading).flowing


def test_no_wal_sender_for_the_standby_is_a_stall() -> None:
    state = judge(ReplicationReading(standby(), primary(sender=False, reply_at=None)))

    assert state.stalled == "the primary has no WAL sender for the standby"
    assert state.state == "stalled"
    assert state.lag_s > 0


def test_an_unanswering_primary_is_a_stall_with_lag_since_the_last_exchange() -> None:
    state = judge(ReplicationReading(standby(last_message_at=at(95)), None))

    assert state.stalled == "the primary does not answer"
    assert state.lag_s == 10.0  # the standby's now minus its last replayed commit


def test_a_stopped_receiver_is_stalled_and_says_so() -> None:
    state = judge(ReplicationReading(standby(receiver=None, last_message_at=None), primary()))

    assert state.state == "stopped"
    assert state.stalled == "no WAL receiver runs on the standby"
    assert state.lag_s == 0.5  # the primary heard from it last at 99.5


def test_a_waiting_receiver_keeps_its_status_and_is_stalled() -> None:
    reading = ReplicationReading(
        standby(receiver="waiting", last_message_at=None), primary(reply_at=None)
    )
    state = judge(reading)

    assert state.state == "waiting"
    assert not state.flowing
    assert state.lag_s == 10.0  # no reply known: since the last replayed commit


def test_a_standby_that_does_not_answer_is_down() -> None:
    state = judge(ReplicationReading(None, None))

    assert state.state == "down"
    assert not state.flowing
