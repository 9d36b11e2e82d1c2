"""RFC 6962 inclusion and consistency proofs: the sandbox log's proofs (built from the RFC 6962
definitions) pass the client's checks (the RFC 9162 verification algorithms) for every entry and
pair of tree sizes, and a tampered proof or a log that rewrote an entry is caught."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.ct.client import Rfc6962Log
from crawlers.ct.http import CtHttpError
from crawlers.ct.loglist import log_from_url
from crawlers.ct.merkle import ProofError, leaf_hash, root_from_hashes, verify_consistency, verify_inclusion
from crawlers.ct.sth import TreeHead
from sandbox.ct.logs import consistency_path, inclusion_path

HASHES = [leaf_hash(f"leaf {i}".encode()) for i in range(40)]


def flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


def test_every_entry_of_every_tree_size_is_proven_included():
    for n in range(1, len(HASHES) + 1):
        root = root_from_hashes(HASHES[:n])
        for m in range(n):
            verify_inclusion(HASHES[m], m, n, inclusion_path(m, HASHES[:n]), root)


@pytest.mark.parametrize("n,m", [(1, 0), (7, 3), (8, 7), (33, 32), (40, 17)])
def test_a_wrong_leaf_index_sibling_or_length_is_not_a_proof(n, m):
    root, proof = root_from_hashes(HASHES[:n]), inclusion_path(m, HASHES[:n])
    with pytest.raises(ProofError, match="another root"):
        verify_inclusion(flip(HASHES[m]), m, n, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(HASHES[m], (m + 1) % n if n > 1 else 1, n, proof, root)
    if proof:
        with pytest.raises(ProofError, match="another root"):
            verify_inclusion(HASHES[m], m, n, [flip(proof[0])] + proof[1:], root)
        with pytest.raises(ProofError, match="too short"):
            verify_inclusion(HASHES[m], m, n, proof[:-1], root)
    with pytest.raises(ProofError, match="too long"):
        verify_inclusion(HASHES[m], m, n, proof + [HASHES[0]], root)


def test_every_pair_of_tree_sizes_is_proven_consistent():
    for n in range(1, len(HASHES) + 1):
        for m in range(0, n + 1):
            proof = consistency_path(m, HASHES[:n]) if m else []
            verify_consistency(m, n, root_from_hashes(HASHES[:m]), root_from_hashes(HASHES[:n]), proof)


@pytest.mark.parametrize("m,n", [(1, 2), (3, 7), (4, 8), (6, 8), (16, 33), (21, 40)])
def test_a_log_that_rewrote_a_published_entry_fails_the_consistency_check(m, n):
    old_root = root_from_hashes(HASHES[:m])
    rewritten = HASHES[:m - 1] + [flip(HASHES[m - 1])] + HASHES[m:n]
    with pytest.raises(ProofError, match="does not extend"):
        verify_consistency(m, n, old_root, root_from_hashes(rewritten), consistency_path(m, rewritten))
    proof = consistency_path(m, HASHES[:n])
    with pytest.raises(ProofError):
        verify_consistency(m, n, old_root, root_from_hashes(HASHES[:n]), [flip(proof[-1])] + proof[:-1])
    with pytest.raises(ProofError, match="empty consistency proof"):
        verify_consistency(m, n, old_root, root_from_hashes(HASHES[:n]), [])


def test_two_heads_of_one_size_with_different_roots_are_caught():
    with pytest.raises(ProofError, match="same tree size"):
        verify_consistency(5, 5, root_from_hashes(HASHES[:5]), root_from_hashes(HASHES[1:6]), [])


class ProvingLog:
    """``HttpClient.get`` of an RFC 6962 log answering the two proof endpoints from ``leaves``."""

    def __init__(self, leaves):
        self.leaves, self.urls, self.broken = leaves, [], False

    def get(self, url):
        self.urls.append(url)
        parts = urlsplit(url)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        hashes = [leaf_hash(x) for x in self.leaves]
        if parts.path.endswith("get-sth-consistency"):
            body = {"consistency": consistency_path(int(q["first"]), hashes[:int(q["second"])])}
        else:
            index = hashes.index(base64.b64decode(q["hash"]))
            body = {"leaf_index": index, "audit_path": inclusion_path(index, hashes[:int(q["tree_size"])])}
        out = {k: [base64.b64encode(h).decode() for h in v] if isinstance(v, list) else v for k, v in body.items()}
        if self.broken and "audit_path" in out:
            out["audit_path"] = ["not base64!"]
        return json.dumps(out).encode()


def head(leaves, n):
    return TreeHead(n, 0, root_from_hashes([leaf_hash(x) for x in leaves[:n]]))


def test_the_client_checks_a_log_s_proofs_through_its_endpoints():
    leaves = [f"entry {i}".encode() for i in range(30)]
    http = ProvingLog(leaves)
    log = Rfc6962Log(log_from_url("https://ct.test/2026h2/"), http)
    log.prove_consistency(head(leaves, 11), head(leaves, 30))
    assert log.prove_inclusion(leaves[17], head(leaves, 30)) == 17
    assert http.urls[0] == "https://ct.test/2026h2/ct/v1/get-sth-consistency?first=11&second=30"
    assert "get-proof-by-hash?hash=" in http.urls[1] and http.urls[1].endswith("&tree_size=30")
    # The log rewrote entry 3 after publishing the tree of 11: its new tree does not extend the old.
    http.leaves = leaves[:3] + [b"rewritten"] + leaves[4:]
    with pytest.raises(ProofError, match="does not extend"):
        log.prove_consistency(head(leaves, 11), head(http.leaves, 30))
    http.broken = True
    with pytest.raises(CtHttpError, match="not base64"):
        log.prove_inclusion(leaves[5], head(leaves, 30))
