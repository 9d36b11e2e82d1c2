"""The capture browser's own user: the launcher, and a root crawl's launch options."""

from __future__ import annotations

import os
from unittest import mock

import pytest

from brandhound import system_user
from crawlers import browser_user


def test_launcher_hands_the_profile_over_and_drops_privileges(tmp_path):
    with mock.patch.object(browser_user, "ensure_user"):
        path = browser_user.launcher("/usr/bin/chromium", "brandhound-browser", tmp_path)
    text = open(path).read()
    assert os.access(path, os.X_OK)
    assert 'chown -R brandhound-browser: "${arg#--user-data-dir=}"' in text
    assert "--reuid=brandhound-browser --regid=brandhound-browser --init-groups --inh-caps=-all" in text
    assert text.rstrip().endswith('/usr/bin/chromium "$@"')


def test_root_crawls_run_chromium_sandboxed_as_the_user(tmp_path):
    options = {"executable_path": "/usr/bin/chromium", "args": ["--disable-gpu", "--no-sandbox"]}
    with mock.patch.object(os, "geteuid", return_value=0), mock.patch.object(browser_user, "ensure_user"):
        changed = browser_user.own_user_launch_options(options, "brandhound-browser", tmp_path)
        unchanged = browser_user.own_user_launch_options(options, "", tmp_path)
    assert changed["args"] == ["--disable-gpu"] and changed["executable_path"].endswith("chromium-as-brandhound-browser")
    assert unchanged == options
    with mock.patch.object(os, "geteuid", return_value=1000):
        assert browser_user.own_user_launch_options(options, "brandhound-browser", tmp_path) == options


def test_a_user_created_meanwhile_by_another_crawl_is_fine():
    calls = iter([KeyError("no"), None])

    def getpwnam(name):
        result = next(calls)
        if isinstance(result, KeyError):
            raise result
        return result

    failed = mock.Mock(returncode=9, stderr="useradd: user 'x' already exists")
    with mock.patch.object(system_user.pwd, "getpwnam", getpwnam), mock.patch.object(system_user.subprocess, "run",
                                                                                       return_value=failed):
        browser_user.ensure_user("x")


def test_a_user_that_cannot_be_created_says_what_to_do():
    failed = mock.Mock(returncode=1, stderr="useradd: permission denied")
    with mock.patch.object(system_user.pwd, "getpwnam", side_effect=KeyError("no")), \
            mock.patch.object(system_user.subprocess, "run", return_value=failed), \
            pytest.raises(browser_user.BrowserUserError, match="BRANDHOUND_BROWSER_USER"):
        browser_user.ensure_user("x")
