"""``python -m focalxl.cvat.bench`` measures what it says, on small frames."""
import pytest

import focalxl
from focalxl.bench.latency import photo
from focalxl.cvat.bench import OVERHEAD_LIMIT_MS, EngineClock, TimedSegmenter, main, overhead, reply_size


def test_the_engine_clock_counts_session_creation_and_interactions_only():
    clock = EngineClock()
    segmenter = TimedSegmenter(focalxl.load("classical"), clock)
    session = segmenter.new_session(photo(64, 48))
    created = clock.seconds
    assert created > 0
    session.add(focalxl.Click(32.0, 24.0))
    assert clock.seconds > created
    assert isinstance(session, focalxl.Session)


def test_overhead_figures_are_handler_time_minus_engine_time_with_the_30_ms_requirement():
    figures = overhead(focalxl.load("classical"), repeats=1, width=192, height=108)
    overheads, totals = figures[0::2], figures[1::2]
    assert [f.limit for f in overheads] == [None, OVERHEAD_LIMIT_MS, OVERHEAD_LIMIT_MS]
    for door, total in zip(overheads, totals):
        assert 0 < door.value < total.value


def test_reply_size_compares_the_cropped_reply_with_full_frame_lists():
    sent, reference, compact = reply_size(focalxl.load("classical"), width=400, height=300)
    details = sent.details
    assert 4.0 < details["mask_percent"] < 6.5
    assert details["reply_bytes"] < details["full_frame_compact_bytes"] < details["full_frame_json_dumps_bytes"]
    assert reference.value < compact.value < 100.0


def test_the_bench_refuses_a_repeat_count_below_one(capsys):
    with pytest.raises(SystemExit):
        main(["--repeats", "0"])
    assert "--repeats" in capsys.readouterr().err
