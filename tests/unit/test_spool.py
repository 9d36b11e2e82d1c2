import errno
import os

import pytest

from brandhound.spool import Spool, SpoolError
from brandhound.store import encode_record


def _records(n, start=0):
    return [encode_record("idx", f"id-{i}", {"n": i, "text": "line\nbreak ünïcode"}) for i in range(start, start + n)]


def test_append_then_drain_in_order_and_empty_afterwards(tmp_path):
    sent = []
    with Spool(tmp_path, segment_bytes=2000) as spool:
        spool.append(_records(30))
        spool.append(_records(30, 30))
        assert len(spool.segments()) > 1
        assert spool.status().records == 60
        done = spool.drain(sent.extend, batch_records=7, batch_bytes=10**6)
        assert done == 60
        assert sent == _records(60)
        assert not spool.pending()
        assert spool.status().records == 0


def test_failed_batch_is_kept_and_replay_resumes_there(tmp_path):
    calls = []

    def flaky(batch):
        calls.append(list(batch))
        if len(calls) == 3:
            raise ConnectionError("down")

    with Spool(tmp_path) as spool:
        spool.append(_records(25))
        with pytest.raises(ConnectionError):
            spool.drain(flaky, batch_records=5, batch_bytes=10**6)
        assert spool.status().records == 15  # two batches of five acknowledged
        rest = []
        assert spool.drain(rest.extend, batch_records=5, batch_bytes=10**6) == 15
        assert rest == _records(25)[10:]


def test_spool_survives_a_new_process(tmp_path):
    with Spool(tmp_path) as spool:
        spool.append(_records(3))
    with Spool(tmp_path) as again:
        out = []
        again.drain(out.extend, 10, 10**6)
    assert out == _records(3)


def test_torn_last_record_is_quarantined_not_replayed_as_garbage(tmp_path):
    with Spool(tmp_path) as spool:
        spool.append(_records(2))
        with open(spool.segments()[0], "ab") as fh:
            fh.write(b'{"index":{"_index":"idx","_id":"torn"}}\n{"n":')
        out = []
        assert spool.drain(out.extend, 10, 10**6) == 2
    assert out == _records(2)
    assert b'"torn"' in (tmp_path / "torn-records.bin").read_bytes()


def test_second_owner_is_refused_with_the_directory_named(tmp_path):
    with Spool(tmp_path):
        with pytest.raises(SpoolError, match=str(tmp_path)):
            Spool(tmp_path)


def test_disk_full_raises_clearly_and_leaves_no_torn_record(tmp_path, monkeypatch):
    with Spool(tmp_path) as spool:
        spool.append(_records(1))
        real_write = os.write
        calls = {"n": 0}

        def failing_write(fd, data):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, bytes(data)[:100])

        monkeypatch.setattr(os, "write", failing_write)
        with pytest.raises(SpoolError, match="disk is full"):
            spool.append(_records(5, 1))
        monkeypatch.setattr(os, "write", real_write)
        out = []
        spool.drain(out.extend, 10, 10**6)
    assert out == _records(1)
