"""The detector hook: findings gathered, a failing detector contained, network-bound detectors off the caller's thread."""

from __future__ import annotations

import asyncio
import threading

from scrapy.utils.test import get_crawler

from brandhound.items import Finding, Page, Subject, Url
from crawlers.items import Capture
from pipelines.detect import DetectorPipeline


def _finding(name: str) -> Finding:
    return Finding(kind="fake_store", score=0.9, threshold=0.7, verdict="flagged",
                   subject=Subject(index="sites", id=name))


class Recording:
    def __init__(self, name: str, waits_on_network: bool = False):
        self.name = name
        self.waits_on_network = waits_on_network
        self.threads: list[str] = []

    def detect(self, capture: Capture) -> list[Finding]:
        self.threads.append(threading.current_thread().name)
        return [_finding(self.name)]


class Broken:
    def detect(self, capture: Capture) -> list[Finding]:
        raise RuntimeError("bug")


def _run(pipeline: DetectorPipeline, captures: list[Capture]) -> list[Capture]:
    async def go() -> list[Capture]:
        pipeline.open_spider()
        try:
            return await asyncio.gather(*(pipeline.process_item(c) for c in captures))
        finally:
            pipeline.close_spider()

    return asyncio.run(go())


def _capture(i: int) -> Capture:
    return Capture(page=Page(url=Url(full=f"https://shop.example/{i}")), dump_text="dump")


def test_every_detector_runs_and_a_failing_one_loses_nothing():
    crawler = get_crawler()
    cpu, network = Recording("cpu"), Recording("rdap", waits_on_network=True)
    pipeline = DetectorPipeline(crawler, [cpu, Broken(), network])
    out = _run(pipeline, [_capture(i) for i in range(5)])
    assert [sorted(f.subject.id for f in c.findings) for c in out] == [["cpu", "rdap"]] * 5
    assert all(c.dump_text is None for c in out)
    assert crawler.stats.get_value("brandhound/detector_errors/Broken") == 5


def test_a_detector_that_waits_on_the_network_runs_in_one_thread_of_its_own():
    crawler = get_crawler()
    cpu, network = Recording("cpu"), Recording("rdap", waits_on_network=True)
    _run(DetectorPipeline(crawler, [cpu, network]), [_capture(i) for i in range(8)])
    caller = threading.current_thread().name
    assert set(cpu.threads) == {caller}
    assert len(set(network.threads)) == 1 and network.threads[0].startswith("detector-Recording")
