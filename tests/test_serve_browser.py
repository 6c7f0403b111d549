"""`vroeg serve` for real: a subprocess on a free port, looked at by headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must install it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, timeout: float = 5.0) -> tuple[int, bytes, dict[str, str]]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`vroeg serve` in a subprocess with its own VROEG_HOME (SQLite) on a free port."""
    home = tmp_path_factory.mktemp("vroeg_home")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "VROEG_DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(VROEG_HOME=str(home), VROEG_ADMIN_USER="beheer",
               VROEG_ADMIN_PASSWORD="een-lang-test-wachtwoord", PYTHONUNBUFFERED="1")
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vroeg", "serve", "--port", str(port), "--create-admin"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(home))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vroeg serve stopped ({proc.returncode}):\n"
                            + (home / "serve.log").read_text())
            try:
                status, _, _ = fetch(base + "/admin/login/", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("vroeg serve did not answer within 120 s:\n"
                            + (home / "serve.log").read_text())
            time.sleep(0.3)
        yield {"base": base, "home": home, "port": port}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def chromium_args(binary: str, profile: Path) -> list[str]:
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--lang=nl", "--accept-lang=nl,en",
            "--window-size=1280,900"]


def chromium_env() -> dict[str, str]:
    # Dutch first: the browser asks for Dutch, as a Dutch staff member's would.
    return {**os.environ, "LANGUAGE": "nl", "LANG": "nl_NL.UTF-8"}


def test_serve_answers_and_serves_static_files(server):
    base = server["base"]
    status, _, headers = fetch(base + "/")
    assert status == 302 and headers["Location"] == "/admin/"
    status, _, headers = fetch(base + "/admin/")
    assert status == 302 and "/admin/login/" in headers["Location"]
    status, body, headers = fetch(base + "/static/admin/css/base.css")
    assert status == 200 and len(body) > 1000
    assert headers.get("Server") == "vroeg"
    assert (server["home"] / "static" / "admin" / "css" / "base.css").is_file()
    log = (server["home"] / "serve.log").read_text()
    assert "'beheer' aangemaakt" in log
    assert f"http://127.0.0.1:{server['port']}/admin/" in log


def test_login_page_in_headless_chromium(server, chromium, tmp_path):
    page = server["base"] + "/admin/login/"
    shot = tmp_path / "login.png"
    result = subprocess.run(
        [*chromium_args(chromium, tmp_path / "profile1"), f"--screenshot={shot}", page],
        capture_output=True, timeout=120, env=chromium_env())
    assert shot.is_file(), result.stderr.decode(errors="replace")[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000  # a real, styled page; a blank one is ~5 kB
    keep = os.environ.get("VROEG_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "login.png")

    result = subprocess.run(
        [*chromium_args(chromium, tmp_path / "profile2"), "--dump-dom", page],
        capture_output=True, timeout=120, env=chromium_env())
    dom = result.stdout.decode("utf-8", errors="replace")
    assert "<title>Aanmelden | vroeg</title>" in dom, dom[:2000]
    assert "vroeg: huurincasso en vroegsignalering" in dom
    assert 'name="username"' in dom and 'name="password"' in dom


def test_staff_logs_in_and_opens_the_unmatched_queue(server):
    """A real login through waitress: CSRF, session cookie, a list page."""
    import http.cookiejar
    import re
    import urllib.parse

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = server["base"] + "/admin/login/?next=/admin/banking/unmatchedpayment/"
    with opener.open(login, timeout=10) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({
        "csrfmiddlewaretoken": token, "username": "beheer",
        "password": "een-lang-test-wachtwoord",
        "next": "/admin/banking/unmatchedpayment/"}).encode()
    request = urllib.request.Request(login, data=form, headers={"Referer": login})
    with opener.open(request, timeout=10) as response:
        assert response.status == 200
        assert response.url.endswith("/admin/banking/unmatchedpayment/")
        html = response.read().decode()
    assert "niet-gekoppelde betaling" in html.lower()
