#!/usr/bin/env python3
"""Checks the DOM headless Chromium rendered from /status (`chromium --dump-dom`).

usage: e2e-status-page.py DOM_FILE EXPECTED_HEADLINE [--reason SUBSTRING]...

Checks: the headline says EXPECTED_HEADLINE (in text, not only colour); each --reason appears in
the reasons list under it (none listed when OK); identity rows run most urgent first (CRITICAL,
WARNING, UNKNOWN, OK; then sooner expiry); every identity with a lifetime has its inline-SVG bar
with "now" marked and a text title; the page loads no script and no external asset.
Prints one PASS/FAIL line per check; exits 1 on any failure.
"""
import re
import sys
from html.parser import HTMLParser

RANK = {"CRITICAL": 0, "WARNING": 1, "UNKNOWN": 2, "OK": 3}


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
        self.headline = ""
        self.reasons = []
        self.rows = []  # identity rows: {"status", "expires", "bars", "now", "title", "classes"}
        self.row = None
        self.cell = None
        self.scripts = 0
        self.external = []
        self.in_headline = False
        self.in_reason = False
        self.in_title = False
        self.section = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            value = a.get(key) or ""
            if tag in ("img", "link", "script", "iframe") and re.match(r"^(https?:)?//", value):
                self.external.append(value)
        if tag == "h1" and a.get("id") == "headline":
            self.in_headline = True
        if tag == "ul" and a.get("id") == "reasons":
            self.section = "reasons"
        if tag == "li" and self.section == "reasons":
            self.in_reason = True
            self.reasons.append("")
        if tag == "table":
            self.section = a.get("id")
        if tag == "tr" and self.section == "identities" and "class" in a:
            classes = a["class"].split()
            self.row = {"status": None, "expires": None, "bars": 0, "now": 0, "title": "", "classes": classes}
            self.rows.append(self.row)
        if tag == "td" and self.row is not None:
            self.cell = a.get("data-label")
        if self.row is not None and tag == "svg" and "lifetime-bar" in (a.get("class") or ""):
            self.row["bars"] += 1
        if self.row is not None and tag == "line" and a.get("class") == "now":
            self.row["now"] += 1
        if self.row is not None and tag == "title":
            self.in_title = True

    def handle_endtag(self, tag):
        if tag == "h1":
            self.in_headline = False
        if tag == "li":
            self.in_reason = False
        if tag == "ul" and self.section == "reasons":
            self.section = None
        if tag == "title":
            self.in_title = False
        if tag == "td":
            self.cell = None
        if tag == "tr":
            self.row = None
        if tag == "table":
            self.section = None

    def handle_data(self, data):
        if self.in_headline:
            self.headline += data
        if self.in_reason:
            self.reasons[-1] += data
        if self.row is not None:
            if self.in_title:
                self.row["title"] += data
            elif self.cell == "status":
                self.row["status"] = (self.row["status"] or "") + data.strip()
            elif self.cell == "expires in":
                self.row["expires"] = (self.row["expires"] or "") + data.strip()


def seconds(text):
    """`3d4h`, `1h2m`, `4m5s`, `-12s` → seconds; None for `-`."""
    if not text or text == "-":
        return None
    sign = -1 if text.startswith("-") else 1
    total = 0
    for amount, unit in re.findall(r"(\d+)([dhms])", text):
        total += int(amount) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
    return sign * total


def main():
    args = sys.argv[1:]
    dom_file, expected = args[0], args[1]
    wanted = [args[i + 1] for i, arg in enumerate(args) if arg == "--reason"]
    page = Page()
    with open(dom_file, encoding="utf-8") as f:
        page.feed(f.read())
    failures = 0

    def check(ok, what):
        nonlocal failures
        print(("PASS " if ok else "FAIL ") + what)
        failures += 0 if ok else 1

    headline = " ".join(page.headline.split())
    check(headline == f"spiffe-exporter status: {expected}", f"headline reads {expected!r} (got {headline!r})")
    if expected == "OK":
        check(not page.reasons, f"an OK headline lists no reasons (got {page.reasons})")
    for reason in wanted:
        check(any(reason in r for r in page.reasons), f"reasons list {reason!r}")
    held = [r for r in page.rows if "identity" in r["classes"]]
    check(bool(held), f"identities are listed ({len(held)} rows)")
    keys = [(RANK.get(r["status"], 9), seconds(r["expires"]) if seconds(r["expires"]) is not None else float("inf")) for r in held]
    check(keys == sorted(keys), f"identities run most urgent first: {[(r['status'], r['expires']) for r in held]}")
    timed = [r for r in held if r["expires"] not in (None, "-")]
    check(all(r["bars"] == 1 and r["now"] == 1 for r in timed), f"each of {len(timed)} timed identities has one lifetime bar with now marked")
    check(all("expires " in r["title"] and "now " in r["title"] for r in timed), "each bar says in text what it draws")
    check(page.scripts == 0, "no script")
    check(not page.external, f"no external asset ({page.external})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
