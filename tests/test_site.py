"""The published site, as a reader's browser sees it.

Builds the book once (warnings are errors, nitpicky references) into a temporary folder,
serves it on 127.0.0.1 and opens every page of ``_toc.yml`` in headless chromium, driven
over the DevTools protocol. Every page must load with no console error, every image must
load, every formula must be typeset by the site's own MathJax with no request leaving the
machine (chromium is started with every host name but 127.0.0.1 unresolvable, and every
request it attempts is recorded), and every Colab or Binder launch link must open this
repository, on the branch of ``_config.yml``, at the Colab edition of the page's own notebook
(``colab/book/NN_name.ipynb``, with no MyST markup left).

chromium comes from Debian (``apt-get install chromium``); where it is missing, the set-up
below installs it when it can (root with apt-get) and skips the browser tests with a clear
message only where it cannot.
"""
from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import re
import tempfile
import threading
import time
import types
import urllib.parse

import nbformat
import pytest
import yaml
from sphinx.errors import ExtensionError

from tests.test_colab_edition import myst_left
from tests.toc import ROOT, resolve, toc_files

websocket = pytest.importorskip("websocket", reason="websocket-client (requirements.txt) drives chromium")

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"]["branch"]
PAGES = toc_files()
NOTEBOOK_PAGES = [p for p in PAGES if resolve(p).suffix == ".ipynb"]
# Every flag keeps chromium quiet and local: no sandbox (we run as root), no update checks,
# sync or field trials, and a fresh profile per run.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    # Nothing but this machine resolves: a page that reaches for a CDN fails here as it would
    # in an offline classroom, and the attempt is still recorded by the Network domain.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0", "--window-size=1280,900",
]


# ---------------------------------------------------------------- the build


@pytest.fixture(scope="module")
def site():
    """Build the book once into a temporary folder; return (returncode, log, html folder)."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="attn_site_"))
    beside_python = pathlib.Path(sys.executable).parent / "jupyter-book"
    cmd = [str(beside_python) if beside_python.exists() else "jupyter-book", "build", "-W", "-n", "--keep-going",
           "--path-output", str(out), str(ROOT)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    yield proc.returncode, proc.stdout + proc.stderr, out / "_build" / "html"
    shutil.rmtree(out, ignore_errors=True)


def test_book_builds_with_warnings_as_errors(site):
    returncode, log, html = site
    problems = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert returncode == 0, "jupyter-book build -W -n failed:\n" + "\n".join(problems or [log[-4000:]])
    for page in PAGES:
        assert (html / f"{page}.html").is_file(), f"{page} is in _toc.yml but {page}.html was not built"


def test_site_ships_its_own_mathjax_3(site):
    """The math renderer is a file of the site, MathJax 3 (Sphinx's mathjax3_config), not a CDN URL."""
    _, _, html = site
    mathjax_path = CONFIG["sphinx"]["config"]["mathjax_path"]
    assert "://" not in mathjax_path and not mathjax_path.startswith("//"), mathjax_path
    bundle = html / "_static" / mathjax_path
    assert bundle.is_file(), f"{bundle.relative_to(html)} is missing from the built site"
    assert _packaged_mathjax_version().startswith("3."), "Sphinx's mathjax3_config needs MathJax 3"
    assert bundle.read_bytes() == (_packaged_mathjax() / "es5" / pathlib.Path(mathjax_path).name).read_bytes()
    assert (html / "_static/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()
    assert (html / "_static/mathjax/input/tex/extensions/boldsymbol.js").is_file()


def test_pages_workflow_publishes_the_configured_branch_with_the_book_command():
    workflow = yaml.safe_load((ROOT / ".github/workflows/pages.yml").read_text())
    assert workflow[True]["push"]["branches"] == [BRANCH]  # YAML reads the key `on` as True
    steps = workflow["jobs"]["build"]["steps"]
    assert any(step.get("run") == "bash scripts/book.sh" for step in steps)
    upload = next(step for step in steps if str(step.get("uses", "")).startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert any(str(step.get("uses", "")).startswith("actions/deploy-pages") for step in workflow["jobs"]["deploy"]["steps"])


def _local_extension(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "book" / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", ["https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js",
                                  "mathjax/no-such-bundle.js", "tex-mml-chtml.js"])
def test_offline_mathjax_rejects_a_path_it_cannot_serve(path):
    offline_mathjax = _local_extension("offline_mathjax")
    with pytest.raises(ExtensionError, match=rf"offline_mathjax: mathjax_path is '{re.escape(path)}'; set it to "
                                             r"'mathjax/<bundle>' with a bundle from \[.*'tex-mml-chtml.js'"):
        offline_mathjax.check_config(None, types.SimpleNamespace(mathjax_path=path))


def test_repeated_inline_scripts_are_dropped_and_everything_else_kept():
    from sphinx.builders.html._assets import _JavaScript

    unique_scripts = _local_extension("unique_scripts")
    config = _JavaScript("", body="const THEBE_JS_URL = 1")
    scripts = [_JavaScript("a.js"), config, _JavaScript("b.js", **{"async": "async"}),
               _JavaScript("", body="const THEBE_JS_URL = 1"), _JavaScript("", body="other"), _JavaScript("a.js")]
    context = {"script_files": scripts}
    unique_scripts.drop_repeated_inline_scripts(None, "page", "page.html", context, None)
    # by identity: Sphinx's script objects compare equal by file name, and every inline script has none
    assert [id(js) for js in context["script_files"]] == [id(js) for js in (scripts[0], config, scripts[2], scripts[4], scripts[5])]


def _packaged_mathjax() -> pathlib.Path:
    import mathjax  # django-static-mathjax

    return pathlib.Path(mathjax.__file__).parent / "static" / "mathjax"


def _packaged_mathjax_version() -> str:
    return json.loads((_packaged_mathjax() / "package.json").read_text())["version"]


# ---------------------------------------------------------------- the browser


def _find_or_install_chromium() -> str:
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get): "
                    "run `apt-get install chromium` as root, or set CHROMIUM=/path/to/chrome")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = ""
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        log += proc.stdout + proc.stderr
        if proc.returncode:
            pytest.skip(f"chromium could not be installed (`{' '.join(cmd)}` failed):\n{log[-2000:]}")
    return shutil.which("chromium")


class DevTools:
    """A minimal DevTools-protocol client: commands on one page session, events kept in order."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=self.session)
        self.call("Network.setCacheDisabled", session=self.session, cacheDisabled=True)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                raise TimeoutError(f"no {method} within {timeout} s") from None
        self.ws.settimeout(60)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", session=self.session, expression=expression,
                           awaitPromise=True, returnByValue=True, timeout=60000)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:  # the browser may drop the socket while closing
            pass
        self.ws.close()


# Runs in the page after its load event: loads every image eagerly, waits for MathJax to finish
# typesetting, and reports what a reader would see.
INSPECT = r"""
(async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  let version = null;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    version = MathJax.version;
  }
  const math = [...document.querySelectorAll('.math')];
  return {
    images: images.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth, alt: img.getAttribute('alt')})),
    mathjaxVersion: version,
    mathjaxScripts: [...document.scripts].map(s => s.src).filter(src => /mathjax/i.test(src)),
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    mathErrors: [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error') || e.textContent),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href)
              .filter(href => /colab\.research\.google\.com|mybinder\.org/.test(href)),
    downloads: await Promise.all([...new Set([...document.querySelectorAll('a[href*="_sources/"]')].map(a => a.href))]
              .map(async href => ({href, status: (await fetch(href, {method: 'HEAD'})).status}))),
  };
})()
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(site):
    _, _, html = site
    if not (html / f"{PAGES[0]}.html").is_file():
        pytest.skip("the book did not build (see test_book_builds_with_warnings_as_errors)")
    chromium = _find_or_install_chromium()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="attn_chromium_")
    proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = pathlib.Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while not (port_file.is_file() and len(port_file.read_text().split()) == 2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{chromium} did not start (exit code {proc.poll()})")
        time.sleep(0.1)
    port, path = port_file.read_text().split()
    devtools = DevTools(f"ws://127.0.0.1:{port}{path}")
    yield devtools, f"http://127.0.0.1:{server.server_address[1]}/"
    devtools.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    server.shutdown()
    shutil.rmtree(profile, ignore_errors=True)


def visit(browser, relative_url: str) -> dict:
    """Load one page; return what INSPECT reports plus its console errors and requests."""
    devtools, base = browser
    devtools.events.clear()
    devtools.call("Page.navigate", session=devtools.session, url=base + relative_url)
    devtools.wait_for("Page.loadEventFired")
    report = devtools.evaluate(INSPECT)
    devtools.evaluate("new Promise(r => setTimeout(r, 200))")  # late console messages
    events = devtools.events
    errors = []
    for e in events:
        params = e.get("params", {})
        if e.get("method") == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif e.get("method") == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(details.get("exception", {}).get("description") or details.get("text"))
        elif e.get("method") == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"{params['entry']['text']} ({params['entry'].get('url', '')})")
    report["console_errors"] = errors
    report["requests"] = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    report["base"] = base
    return report


@pytest.fixture(scope="module")
def pages(browser):
    """Every toc page, visited once; tests below read the reports."""
    return {page: visit(browser, f"{page}.html") for page in PAGES}


def _unreadable(image: dict) -> bool:
    """An image a screen reader cannot describe: no alt text, or a file name standing in for one."""
    alt = (image["alt"] or "").strip()
    return not alt or bool(re.search(r"\.(png|svg|jpe?g|gif)$|_images/", alt))


def _leaves_machine(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme not in ("data", "blob", "about") and parts.hostname not in ("127.0.0.1", "localhost")


# ---------------------------------------------------------------- the harness itself


def test_the_harness_sees_errors_broken_images_and_outside_requests(site, browser):
    """A deliberately broken page: every check below must notice what is wrong with it."""
    _, _, html = site
    (html / "_harness_check.html").write_text(
        "<html><body><p class='math'>\\(x\\)</p><img src='missing.png'>"
        "<script>console.error('deliberate error')</script>"
        "<script src='https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js'></script></body></html>"
    )
    report = visit(browser, "_harness_check.html")
    assert any("deliberate error" in e for e in report["console_errors"]), report["console_errors"]
    assert any(img["width"] == 0 for img in report["images"]), report["images"]
    assert any(_unreadable(img) for img in report["images"]), report["images"]
    assert any(_leaves_machine(u) for u in report["requests"]), report["requests"]
    assert report["mathjaxVersion"] is None and report["untypeset"] == ["\\(x\\)"]


# ---------------------------------------------------------------- every page of the book


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_console_errors(pages, page):
    assert pages[page]["console_errors"] == [], f"{page}.html: console errors {pages[page]['console_errors']}"


@pytest.mark.parametrize("page", PAGES)
def test_page_images_load(pages, page):
    report = pages[page]
    assert report["images"], f"{page}.html shows no image at all (not even the logo)"
    broken = [img["src"] for img in report["images"] if img["width"] == 0]
    assert broken == [], f"{page}.html: images that did not load: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_page_images_have_alt_text(pages, page):
    """Every figure is described in words (the cell's ``mystnb.image.alt``), not by its file name."""
    unreadable = [(img["src"].rsplit("/", 1)[-1], img["alt"]) for img in pages[page]["images"] if _unreadable(img)]
    assert unreadable == [], f"{page}.html: images without alt text (src, alt): {unreadable}"


@pytest.mark.parametrize("page", PAGES)
def test_no_request_leaves_the_machine(pages, page):
    outside = [u for u in pages[page]["requests"] if _leaves_machine(u)]
    assert outside == [], f"{page}.html requested {outside}"


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset_by_the_local_mathjax(pages, page):
    report = pages[page]
    if report["math"] == 0:
        assert report["mathjaxScripts"] == [], f"{page}.html loads MathJax but has no math"
        return
    assert report["mathjaxScripts"] == [report["base"] + "_static/" + CONFIG["sphinx"]["config"]["mathjax_path"]], \
        f"{page}.html loads MathJax from {report['mathjaxScripts']}"
    assert report["mathjaxVersion"] == _packaged_mathjax_version()
    assert report["untypeset"] == [], f"{page}.html: formulas MathJax did not typeset: {report['untypeset']}"
    assert report["mathErrors"] == [], f"{page}.html: MathJax errors: {report['mathErrors']}"


def test_the_book_has_math(pages):
    """At least one page has formulas, so the math test above is not vacuous."""
    assert sum(report["math"] for report in pages.values()) > 0


@pytest.mark.parametrize("page", PAGES)
def test_download_button_serves_the_pages_source(pages, page):
    """The download button offers the page's own source (.ipynb or .md), and the site serves it."""
    source = resolve(page)
    expected = pages[page]["base"] + f"_sources/{page}{source.suffix}"
    assert pages[page]["downloads"] == [{"href": expected, "status": 200}]


@pytest.mark.parametrize("page", PAGES)
def test_launch_links_open_this_pages_notebook(pages, page):
    """Colab and Binder links name this repository, its branch and this page's Colab edition, which exists."""
    links = pages[page]["links"]
    is_notebook = page in NOTEBOOK_PAGES
    colab = [u for u in links if "colab.research.google.com" in u]
    binder = [u for u in links if "mybinder.org" in u]
    if not is_notebook:
        assert colab == [] and binder == [], f"{page} is not a notebook but has launch links {links}"
        return
    assert colab and binder, f"{page}.html has no Colab or no Binder launch link: {links}"
    owner_repo = urllib.parse.urlsplit(REPO_URL).path.strip("/")
    for url in colab:
        prefix = f"https://colab.research.google.com/github/{owner_repo}/blob/{BRANCH}/"
        assert url.startswith(prefix), f"{url} does not start with {prefix}"
        path = url[len(prefix):]
        assert path == f"colab/{page}.ipynb" and (ROOT / path).is_file(), \
            f"Colab opens {path!r}, not the Colab edition colab/{page}.ipynb"
        colab_edition = nbformat.read(ROOT / path, as_version=4)
        left = {i: myst_left(c.source) for i, c in enumerate(colab_edition.cells) if c.cell_type == "markdown"}
        assert not any(left.values()), f"{path} still holds MyST markup: { {i: k for i, k in left.items() if k} }"
    for url in binder:
        parts = urllib.parse.urlsplit(url)
        assert parts.path == f"/v2/gh/{owner_repo}/{BRANCH}", url
        assert urllib.parse.parse_qs(parts.query)["urlpath"][0].endswith(f"colab/{page}.ipynb"), url
