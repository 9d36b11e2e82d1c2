"""Session hooks, and the tests/support plugins whose fixtures every test can ask for by name."""

from __future__ import annotations

import pytest

# pytest takes pytest_plugins from the root conftest only; each module says what its fixtures are for.
pytest_plugins = ["tests.support.elasticsearch", "tests.support.sandbox", "tests.support.tor"]


def pytest_configure(config) -> None:
    # Crawls run in their own processes; in this one, components that check for Scrapy's reactor
    # (scrapy-playwright's download handler) find the one brandhound's crawls use.
    from scrapy.utils.reactor import install_reactor

    import crawlers.settings

    install_reactor(crawlers.settings.TWISTED_REACTOR)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call) -> None:
    # Hypothesis would write a patch of @example lines for a failing property, through libcst,
    # which breaks on zope.interface's class attributes (Twisted's) and turns the failure into
    # an INTERNALERROR that hides every other result. The failing example stays in the report.
    item.__dict__.pop("_hypothesis_failing_examples", None)
