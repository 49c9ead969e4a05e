"""The web view of `rb serve` clicked through in the real Chromium (Playwright).

A real server (tests/rb_server.py) serves a small project; users sign in by
pasting tokens made in its store, and the tests do what a person does: start
a fixture run and watch it finish, approve a waiting live run, cancel a
running one. They also check what must not work: a viewer's forged POST, a
form without its CSRF token, the session cookie reaching the JSON API, a
session after sign-out; and that no page asks for anything off 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rb.store.audit import records
from rb.store.database import Store, open_store

from .rb_server import BEARER, FIXTURE, Served, config_for, serving

APPROVAL = """\
id: web-approve
name: Approval
version: "1"
steps:
  - id: approve
    type: approval
    inputs: {message: "Go on?", approvers: [alice]}
"""

SLOW = """\
id: web-slow
name: Slow
version: "1"
steps:
  - id: hold
    type: wait
    inputs: {seconds: 3600}
"""

pytestmark = pytest.mark.usefixtures("chromium")


@dataclass
class Site:
    """The running server, its store, and every URL its pages asked for."""

    url: str
    store: Store
    browser: Any
    requests: list[str] = field(default_factory=list)

    def token(self, name: str, role: str) -> str:
        from rb.store.tokens import create

        return create(self.store, name, role, (), created_by="tests")[1]

    def signed_in(self, name: str, role: str) -> Any:
        """A new browser context signed in with a fresh token; its page on /."""
        context = self.browser.new_context(base_url=self.url)
        page = context.new_page()
        page.on("request", lambda r: self.requests.append(r.url))
        page.goto("/")
        assert page.url == f"{self.url}/login?next=/"
        page.fill("input[name=token]", self.token(name, role))
        page.click("button:has-text('Sign in')")
        page.wait_for_url(f"{self.url}/")
        return page

    def start(self, page: Any, runbook_id: str, fixture: str = "") -> str:
        """Start a run from its card on / ; the execution id the browser went to."""
        card = page.locator(f"section[data-runbook='{runbook_id}']")
        card.locator("select[name=fixture]").select_option(fixture)
        card.locator("button:has-text('Start')").click()
        page.wait_for_url(re.compile(r"/executions/[0-9a-f-]+$"))
        return str(page.url.rsplit("/", 1)[1])


@pytest.fixture
def site(project: Path, browser: Any, store_url: str) -> Iterator[Site]:
    """The server on a SQLite and on a PostgreSQL store."""
    (project / "runbooks" / "approve.yaml").write_text(APPROVAL, encoding="utf-8")
    (project / "runbooks" / "slow.yaml").write_text(SLOW, encoding="utf-8")
    config = config_for(project, db=store_url)
    store = open_store(config.db)
    with serving(config, headers={}) as served:
        found = Site(served.url, store, browser)
        try:
            yield found
        finally:
            _cancel_running(served, store)  # a failed test leaves no hour-long wait behind
        assert all(r.startswith(f"{served.url}/") for r in found.requests), found.requests
    store.dispose()


def _cancel_running(served: Served, store: Store) -> None:
    from rb.store.queries import list_runs

    for run in list_runs(store, status="running"):
        served.client.post(f"/api/executions/{run.id}/cancel", headers=BEARER)


def _status(page: Any) -> Any:
    from playwright.sync_api import expect

    return expect(page.locator("#status"))


def test_an_operator_starts_a_fixture_run_and_sees_it_finish(site: Site) -> None:
    from playwright.sync_api import expect

    page = site.signed_in("olivia", "operator")
    expect(page.locator("#who")).to_have_text("olivia")
    card = page.locator("section[data-runbook='srv-greet']")
    expect(card.locator("svg.dag g.node")).to_have_count(1)  # the DAG thumbnail
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    execution_id = site.start(page, "srv-greet", FIXTURE)
    _status(page).to_have_text("success")
    assert loads == [f"{site.url}/executions/{execution_id}"]  # one page, updated in place
    report = page.frame_locator("iframe.report")
    expect(report.locator("h1")).to_contain_text("srv-greet")
    page.goto("/executions")
    row = page.locator(f"tr[data-execution='{execution_id}']")
    expect(row.locator(".status")).to_have_text("success")
    expect(row).to_contain_text("olivia")
    (cookie,) = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (
        "rb_session",
        True,
        "Strict",
    )
    assert cookie["path"] == "/" and cookie["secure"] is False  # plain http on 127.0.0.1


def test_an_approver_approves_a_waiting_run(site: Site) -> None:
    from playwright.sync_api import expect

    operator = site.signed_in("olivia", "operator")
    execution_id = site.start(operator, "web-approve")
    _status(operator).to_have_text("waiting")
    expect(operator.locator("form.decide")).to_have_count(0)  # an operator may not decide
    alice = site.signed_in("alice", "approver")
    alice.goto(f"/executions/{execution_id}")
    _status(alice).to_have_text("waiting")
    alice.locator("form.decide input[name=comment]").fill("looks right")
    alice.click("form.decide button:has-text('Approve')")
    _status(alice).to_have_text("success")
    _status(operator).to_have_text("success")  # the operator's page followed it, unreloaded
    audited = [
        (r.entry.action, r.entry.actor, r.entry.details.get("comment"))
        for r in records(site.store)
        if r.entry.subject == execution_id
    ]
    assert audited == [("trigger", "olivia", None), ("approve", "alice", "looks right")]


def test_an_operator_cancels_a_running_run(site: Site) -> None:
    from playwright.sync_api import expect

    page = site.signed_in("olivia", "operator")
    execution_id = site.start(page, "web-slow")
    _status(page).to_have_text("running")
    watcher = page.context.new_page()  # a second tab on the run, never reloaded
    watcher.goto(f"{site.url}/executions/{execution_id}")
    _status(watcher).to_have_text("running")
    expect(watcher.locator("[data-step-state='hold']")).to_have_text("running")
    page.click("button:has-text('Cancel')")
    _status(page).to_have_text("cancelled")
    _status(watcher).to_have_text("cancelled")


def test_a_viewer_sees_no_actions_and_a_forged_post_is_refused(site: Site) -> None:
    from playwright.sync_api import expect

    operator = site.signed_in("olivia", "operator")
    execution_id = site.start(operator, "web-slow")
    viewer = site.signed_in("vera", "viewer")
    expect(viewer.locator("section[data-runbook='srv-greet']")).to_be_visible()
    expect(viewer.locator("form.start")).to_have_count(0)
    viewer.goto(f"/executions/{execution_id}")
    _status(viewer).to_have_text("running")
    expect(viewer.locator(".actions form")).to_have_count(0)
    csrf = viewer.locator("input[name=csrf]").first.get_attribute("value")
    origin = {"Origin": site.url}
    for path in ("/runbooks/srv-greet/start", f"/executions/{execution_id}/cancel"):
        forged = viewer.request.post(path, form={"csrf": csrf}, headers=origin)
        assert forged.status == 403, forged.text()
        assert "vera has role viewer" in forged.text()
    operator.click("button:has-text('Cancel')")
    _status(operator).to_have_text("cancelled")


def test_a_form_without_its_csrf_token_is_refused_and_the_cookie_is_not_an_api_key(
    site: Site,
) -> None:
    page = site.signed_in("olivia", "operator")
    origin = {"Origin": site.url}
    path = "/runbooks/srv-greet/start"
    for form in ({"fixture": FIXTURE}, {"fixture": FIXTURE, "csrf": "forged"}):
        refused = page.request.post(path, form=form, headers=origin)
        assert refused.status == 403
        assert "CSRF token is missing or wrong" in refused.text()
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    no_origin = page.request.post(path, form={"csrf": csrf, "fixture": FIXTURE})
    assert no_origin.status in (200, 303, 403)  # the browser adds its own Origin to a POST
    cross = page.request.post(
        path, form={"csrf": csrf}, headers={"Origin": "http://evil.test"}, max_redirects=0
    )
    assert cross.status == 403
    # The cookie opens the pages only: the API wants its bearer token, and no form.
    assert page.request.get("/api/runbooks").status == 401
    api_form = page.request.post("/api/runbooks/execute", form={"runbook_id": "srv-greet"})
    assert api_form.status in (401, 415)


def test_signing_out_ends_the_session(site: Site) -> None:
    page = site.signed_in("olivia", "operator")
    (cookie,) = page.context.cookies()
    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{site.url}/login")
    assert page.context.cookies() == []
    # The old cookie, sent again, opens nothing.
    old = {"Cookie": f"rb_session={cookie['value']}"}
    answer = httpx.get(f"{site.url}/executions", headers=old, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_wrong_token_does_not_sign_in(site: Site) -> None:
    from playwright.sync_api import expect

    context = site.browser.new_context(base_url=site.url)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=token]", "not-a-token")
    page.click("button:has-text('Sign in')")
    expect(page.locator("[role=alert]")).to_contain_text("unknown, revoked or wrong token")
    assert context.cookies() == []


# Every web route checks the role as the API does (no browser needed) ---------------

WEB_MATRIX: dict[tuple[str, str], str | None] = {
    ("GET", "/login"): None,
    ("POST", "/login"): None,
    ("GET", "/web/live.js"): None,
    ("POST", "/logout"): "view",
    ("GET", "/"): "view",
    ("GET", "/executions"): "view",
    ("GET", "/executions/{execution_id}"): "view",
    ("GET", "/executions/{execution_id}/events"): "view",
    ("POST", "/runbooks/{runbook_id}/start"): "run",
    ("POST", "/executions/{execution_id}/{action}"): "run",
    ("POST", "/executions/{execution_id}/retry"): "run",
    ("POST", "/executions/{execution_id}/approvals"): "approve",
}


def _session(url: str, token: str) -> tuple[httpx.Client, str]:
    """An httpx client signed in with `token`, and its session's CSRF token."""
    client = httpx.Client(base_url=url, headers={"Origin": url}, timeout=60)
    signed = client.post("/login", data={"token": token, "next": "/executions"})
    assert signed.status_code == 303, signed.text
    page = client.get("/executions")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return client, found.group(1)


def test_the_web_matrix_covers_every_web_route(project: Path) -> None:
    from starlette.routing import Route

    from rb.server.app import create_app
    from rb.server.auth import is_web_path

    app = create_app(config_for(project))
    routes = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route) and is_web_path(route.path)
        for method in (route.methods or ()) - {"HEAD"}
    }
    assert routes == set(WEB_MATRIX)


@pytest.mark.parametrize("role", ["viewer", "operator", "approver"])
def test_each_web_action_is_refused_to_a_role_without_its_permission(
    project: Path, role: str
) -> None:
    from rb.service.access import role_allows

    (project / "runbooks" / "slow.yaml").write_text(SLOW, encoding="utf-8")
    config = config_for(project)
    store = open_store(config.db)
    with serving(config, headers={}) as served:
        from rb.store.tokens import create

        started = httpx.post(
            f"{served.url}/api/runbooks/execute",
            json={"runbook_id": "srv-greet", "fixture": FIXTURE},
            headers={"Authorization": f"Bearer {config.token}"},
        )
        execution_id = started.json()["id"]
        client, csrf = _session(served.url, create(store, "pat", role, (), created_by="t")[1])
        try:
            for (method, path), permission in WEB_MATRIX.items():
                if permission is None or method != "POST" or path == "/logout":
                    continue
                url = path.format(
                    runbook_id="srv-greet", execution_id=execution_id, action="cancel"
                )
                form = {"csrf": csrf, "fixture": FIXTURE, "decision": "approve", "step": "greet"}
                answer = client.post(url, data=form)
                refused = answer.status_code == 403 and f"pat has role {role}" in answer.text
                assert refused is not role_allows(role, permission), (url, answer.text)
        finally:
            client.close()
    store.dispose()


def test_a_step_of_a_live_run_is_retried_from_its_page(site: Site) -> None:
    from playwright.sync_api import expect

    page = site.signed_in("olivia", "operator")
    execution_id = site.start(page, "web-slow")
    _status(page).to_have_text("running")
    page.click("button:has-text('Cancel')")
    _status(page).to_have_text("cancelled")
    page.reload()
    page.locator("form[action$='/retry'] select[name=step]").select_option("hold")
    page.click("button:has-text('Retry')")
    _status(page).to_have_text("running")
    expect(page.locator("[data-step-state='hold']")).to_have_text("running")
    page.click("button:has-text('Cancel')")
    _status(page).to_have_text("cancelled")
    assert page.url.endswith(execution_id)


@pytest.mark.parametrize(
    ("given", "goes_to"),
    [
        ("/executions", "/executions"),
        (None, "/"),
        ("https://evil.test/", "/"),
        ("//evil.test/x", "/"),
        ("/\\evil.test", "/"),
        ("executions", "/"),
    ],
)
def test_after_signing_in_the_browser_goes_only_to_a_page_of_this_server(
    given: str | None, goes_to: str
) -> None:
    from rb.server.web.actions import _next

    assert _next(given) == goes_to


def test_a_session_ends_when_it_expires_or_is_ended() -> None:
    from rb.server.web.sessions import SESSION_SECONDS, Sessions

    now = [1000.0]
    sessions = Sessions(clock=lambda: now[0])
    first, second = sessions.create("token-a"), sessions.create("token-a")
    assert first.id != second.id and first.csrf != second.csrf
    assert sessions.get(first.id) == first
    assert first.csrf_matches(first.csrf) and not first.csrf_matches(second.csrf)
    assert not first.csrf_matches(None)
    sessions.end(first.id)
    assert sessions.get(first.id) is None
    now[0] += SESSION_SECONDS
    assert sessions.get(second.id) is None
    assert "token-a" not in repr(second)  # the token and ids stay out of logs
