#!/usr/bin/env python3
"""Drives the review console in headless Chromium (Debian's, through Playwright) as a reviewer
would: follow a notice's link to an approval and land there after signing in, find the pending
approvals (counted, filtered by client) with their configurations, see a client name holding
markup shown as text, untick one configuration to keep it, approve and see the approval decided at
once with no buttons, see the result, open its configurations and download the CSV; and a form
whose CSRF token was removed is refused. Started by ConsoleBrowserTests, which sets up the
service and checks afterwards, through Kafka and the PSA, what the clicks did.

Exits 0 when every step held; otherwise prints the step that failed and exits 1."""
import argparse
import re
import sys
import time

from playwright.sync_api import expect, sync_playwright

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--client-name", required=True, help="the approved client's name, markup included")
parser.add_argument("--approve", required=True, help="approval id to approve")
parser.add_argument("--forge", required=True, help="approval id to post a form without its CSRF token for")
parser.add_argument("--config-ids", required=True, help="comma-separated configuration ids of the approved client")
parser.add_argument("--keep", required=True, help="the configuration id the reviewer unticks")
parser.add_argument("--forge-client", required=True, help="the forged approval's client name, to filter by")
parser.add_argument("--screenshot", required=True)
parser.add_argument("--chromium", default="/usr/bin/chromium")
args = parser.parse_args()

dialogs = []


def step(text):
    print(f"step: {text}", flush=True)


with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    step("a notice's link, followed unsigned, is sent to the sign-in page")
    page.goto(f"{args.base_url}/console/approvals/{args.approve}")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))

    step("a wrong token is refused")
    page.get_by_label("API token").fill("not-the-token-0123456789")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not one of the service's API tokens")

    step("the right token signs in, into an HttpOnly, SameSite=Strict cookie, and returns to the linked approval")
    page.get_by_label("API token").fill(args.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(f"/console/approvals/{re.escape(args.approve)}$"))
    expect(page.locator(f'article[data-approval="{args.approve}"]')).to_be_visible()
    expect(page.locator("article.approval")).to_have_count(1)
    session = next(c for c in context.cookies() if c["name"] == "psa_offboarder_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/console", session
    assert page.evaluate("document.cookie") == "", "the session cookie is not readable from the page"

    step("the dashboard counts the pending approvals and filters them by client")
    page.goto(f"{args.base_url}/console")
    expect(page.locator("#pending-count")).to_have_text("2")
    page.get_by_label("Client name or id").fill(args.forge_client)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("article.approval")).to_have_count(1)
    expect(page.locator(f'article[data-approval="{args.forge}"]')).to_be_visible()
    expect(page.locator("#match-count")).to_contain_text("1 of 2 match")
    page.get_by_role("link", name="Show all").click()
    expect(page.locator("article.approval")).to_have_count(2)

    step("the pending approval lists its configurations; the client's markup is text")
    approval = page.locator(f'article[data-approval="{args.approve}"]')
    expect(approval).to_be_visible()
    expect(approval.locator("h3")).to_contain_text(args.client_name)
    assert page.locator("script").count() == 0, "no script element, and none made from the client's name"
    for config_id in args.config_ids.split(","):
        expect(approval.locator("tbody tr", has_text=config_id)).to_have_count(1)
    expect(approval.locator("tbody tr").first).to_contain_text("Active")
    page.screenshot(path=args.screenshot, full_page=True)

    step("a form whose CSRF token was removed is refused, and the approval stays pending")
    forged = page.locator(f'article[data-approval="{args.forge}"]')
    forged.locator('input[name="csrf"]').evaluate("input => input.remove()")
    forged.get_by_label("Your name").fill("Mallory")
    forged.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alert")).to_contain_text("CSRF token is missing or wrong")
    page.goto(f"{args.base_url}/console")
    expect(page.locator(f'article[data-approval="{args.forge}"]')).to_be_visible()

    step("untick one configuration to keep it, and approve with a name and a comment")
    approval = page.locator(f'article[data-approval="{args.approve}"]')
    keep_box = approval.locator(f'input[name="deactivate[]"][value="{args.keep}"]')
    expect(keep_box).to_be_checked()
    keep_box.uncheck()
    approval.get_by_label("Your name").fill("Jane Reviewer")
    approval.get_by_label("Comment").fill("Checked with billing <b>ok</b>")
    approval.get_by_role("button", name="Approve").click()

    step("the approval shows decided at once, by whom and running, with no buttons")
    expect(page).to_have_url(re.compile(f"/console/approvals/{re.escape(args.approve)}\\?done=approve$"))
    # The PSA answers slowly (the test sets it so): the run is still going, the approval still
    # pending on the approvals topic, and it shows decided all the same.
    decided = page.locator(f'article[data-approval="{args.approve}"]')
    expect(decided.locator(".decided")).to_contain_text("Approved by Jane Reviewer")
    expect(decided.locator(".decided")).to_contain_text("the offboarding is running")
    expect(decided.locator(".kept")).to_contain_text(args.keep)
    expect(decided.get_by_role("button")).to_have_count(0)
    page.goto(f"{args.base_url}/console")
    expect(page.locator(f'article[data-approval="{args.approve}"] button')).to_have_count(0)

    step("the result replaces the pending one")
    deadline = time.monotonic() + 60
    row = page.locator("#results tbody tr", has_text=args.client_name)
    while True:
        page.goto(f"{args.base_url}/console")
        if page.locator(f'article[data-approval="{args.approve}"]').count() == 0 and "succeeded" in (row.first.inner_text() if row.count() else ""):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"the approved offboarding's result never showed: {page.locator('#results').inner_text()}")
        page.wait_for_timeout(500)

    step("its configurations are deactivated, with the approver and comment recorded")
    row.first.get_by_role("link", name="configurations").click()
    expect(page.locator("h2")).to_contain_text(args.client_name)
    expect(page.locator("dl")).to_contain_text("approved by Jane Reviewer")
    expect(page.locator("dl")).to_contain_text("Checked with billing <b>ok</b>")
    for config_id in args.config_ids.split(","):
        expected = "skipped (kept_by_reviewer)" if config_id == args.keep else "deactivated"
        expect(page.locator("tbody tr", has_text=config_id)).to_contain_text(expected)

    step("the CSV downloads with every configuration")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the configurations as CSV").click()
    csv = open(download_info.value.path(), encoding="utf-8").read().splitlines()
    assert csv[0].startswith("config_id,config_name,config_type"), csv[:1]
    assert sorted(line.split(",")[0] for line in csv[1:]) == sorted(args.config_ids.split(",")), csv

    step("sign out ends the session")
    page.goto(f"{args.base_url}/console")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.goto(f"{args.base_url}/console")
    expect(page).to_have_url(re.compile(r"/console/login$"))

    assert not dialogs, f"a script ran: {dialogs}"
    browser.close()
print("console: every step held")
