"""The human-alignment files: append-only JSON lines that survive a crash, resuming at the first unjudged image."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from idiff.alignment.records import (
    PICKS_FILE,
    PicksRecord,
    append_record,
    check_picks,
    first_unpicked,
    latest_picks,
    read_candidates,
    read_picks,
)
from idiff.errors import DataError


def test_fixture_writes_20_real_candidate_pngs_per_image(alignment_candidates):
    records = read_candidates(alignment_candidates)
    assert [r.image for r in records] == ["0000", "0001", "0002"]
    for record in records:
        assert len(record.candidates) == 20
        assert len({(c.text_scale, c.image_scale) for c in record.candidates}) == 20
        sizes = {Image.open(alignment_candidates.parent / c.path).size for c in record.candidates}
        assert sizes == {Image.open(alignment_candidates.parent / record.source).size}


def test_picks_append_and_resume_at_the_first_unjudged_image(alignment_candidates):
    records = read_candidates(alignment_candidates)
    picks = alignment_candidates.parent / PICKS_FILE
    assert first_unpicked(records, read_picks(picks)) == 0
    append_record(picks, check_picks(records[0], [3, 17]))
    append_record(picks, check_picks(records[2], []))
    assert first_unpicked(records, read_picks(picks)) == 1
    append_record(picks, check_picks(records[0], [5]))  # judged again: the last record counts
    assert latest_picks(read_picks(picks)) == {"0000": (5,), "0002": ()}
    lines = picks.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"image": "0000", "picks": [3, 17]}, {"image": "0002", "picks": []}, {"image": "0000", "picks": [5]}
    ]


def test_a_torn_last_line_is_skipped_then_cut_off(tmp_path):
    picks = tmp_path / PICKS_FILE
    append_record(picks, PicksRecord("a", (1,)))
    with picks.open("ab") as handle:
        handle.write(b'{"image":"b","pi')  # the process died in the middle of a write
    assert read_picks(picks) == [PicksRecord("a", (1,))]
    append_record(picks, PicksRecord("c", (0, 2)))
    assert read_picks(picks) == [PicksRecord("a", (1,)), PicksRecord("c", (0, 2))]
    assert picks.read_text().count("\n") == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"image": "a", "picks": [1, 2, 3]}', r"picks.jsonl:1: 'picks' must be 0-2 distinct indices"),
        ('{"image": "a", "picks": [1, 1]}', r"picks.jsonl:1: 'picks' must be 0-2 distinct"),
        ('{"image": "a"}', r"picks.jsonl:1: missing 'picks'"),
        ("[1, 2]", r"picks.jsonl:1: expected a JSON object"),
        ("{not json", r"picks.jsonl:1: not valid JSON"),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path, line, message):
    picks = tmp_path / PICKS_FILE
    picks.write_text(line + "\n" + '{"image": "b", "picks": []}\n')
    with pytest.raises(DataError, match=message):
        read_picks(picks)


def test_picks_must_name_existing_candidates(alignment_candidates):
    record = read_candidates(alignment_candidates)[0]
    with pytest.raises(DataError, match="no candidate 20 .it has 20."):
        check_picks(record, [20])
    with pytest.raises(DataError, match="pick 0-2 distinct candidates"):
        check_picks(record, [1, 2, 3])


def test_an_image_listed_twice_is_an_error(alignment_candidates):
    first = alignment_candidates.read_text().splitlines()[0]
    alignment_candidates.write_text(alignment_candidates.read_text() + first + "\n")
    with pytest.raises(DataError, match=r"candidates.jsonl:4: image '0000' is listed twice"):
        read_candidates(alignment_candidates)
