"""RFC 6962 proofs against the sandbox RFC 6962 log over HTTP on 127.0.0.1: as the log grows, each
new signed tree head is proven consistent with the last one, and entries read with get-entries are
proven included in the tree head."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path

import pytest

from crawlers.ct.client import Rfc6962Log
from crawlers.ct.http import Backoff, CtHttpError, HttpClient
from crawlers.ct.loglist import load_log_list
from crawlers.ct.merkle import ProofError
from crawlers.ct.sth import TreeHead
from sandbox.processes import free_port


@pytest.fixture(scope="module")
def growing_log(tmp_path_factory):
    from sandbox.ct import daemon

    home = tmp_path_factory.mktemp("ct-proofs")
    state = daemon.up(home, port=free_port(), benign=300, published=100)
    yield state
    daemon.down(home)


def test_heads_are_proven_consistent_and_entries_included_as_the_log_grows(growing_log):
    info = next(x for x in load_log_list(growing_log["log_list"]) if x.api == "rfc6962")
    log = Rfc6962Log(info, HttpClient(allow_private=True, backoff=Backoff(retries=2)))
    first = log.tree_head()
    assert first.tree_size == 100
    total = len(json.loads(Path(growing_log["ground_truth"]).read_text())["certificates"])
    publish = f"http://127.0.0.1:{growing_log['port']}/_sandbox/publish?size="
    heads = [first]
    for size in (101, 128, 257, total):
        urllib.request.urlopen(urllib.request.Request(publish + str(size), method="POST"))
        heads.append(log.tree_head())
        log.prove_consistency(heads[-2], heads[-1])
    assert heads[-1].tree_size == total
    log.prove_consistency(first, heads[-1])
    def leaves(start, end):  # get-entries as the log answers it: MerkleTreeLeaf bytes and their indices
        body = json.loads(log.http.get(f"{info.url}ct/v1/get-entries?start={start}&end={end}"))
        return [(start + i, base64.b64decode(e["leaf_input"])) for i, e in enumerate(body["entries"])]

    entries = leaves(0, 2) + leaves(total - 2, total - 1)
    for index, leaf in entries:
        assert log.prove_inclusion(leaf, heads[-1]) == index
    assert log.prove_inclusion(entries[0][1], heads[2]) == 0  # in the older tree of 128 too
    forged = TreeHead(heads[-1].tree_size, heads[-1].timestamp, bytes(32))
    with pytest.raises(ProofError):
        log.prove_consistency(first, forged)
    with pytest.raises(ProofError):
        log.prove_inclusion(entries[0][1], forged)
    with pytest.raises(CtHttpError):  # not in the log: the log answers 404
        log.prove_inclusion(b"never logged", heads[-1])
