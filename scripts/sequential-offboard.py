#!/usr/bin/env python3
"""The offboarding as a sequential script would do it, for the benchmark's comparison: read the
company, find the closed configuration status, list the company's configurations, then PATCH them
one at a time over one kept-alive connection. ConnectWise only.

Usage: sequential-offboard.py COMPANY_ID, with CW_BASE_URL, CW_COMPANY, CW_PUBLIC_KEY,
CW_PRIVATE_KEY and CW_CLIENT_ID in the environment (credentials stay off the command line)."""
import base64
import http.client
import json
import os
import sys
import urllib.parse

base = urllib.parse.urlsplit(os.environ["CW_BASE_URL"])
company_id = sys.argv[1]
token = base64.b64encode(
    f'{os.environ["CW_COMPANY"]}+{os.environ["CW_PUBLIC_KEY"]}:{os.environ["CW_PRIVATE_KEY"]}'.encode()).decode()
headers = {"Authorization": "Basic " + token, "clientId": os.environ["CW_CLIENT_ID"], "Accept": "application/json"}
connection = http.client.HTTPConnection(base.hostname, base.port)


def call(method, path, body=None):
    sent = dict(headers)
    if body is not None:
        sent["Content-Type"] = "application/json"
        body = json.dumps(body)
    connection.request(method, base.path + path, body=body, headers=sent)
    response = connection.getresponse()
    data = response.read()
    if response.status >= 300:
        sys.exit(f"{method} {path}: HTTP {response.status} {data[:200]!r}")
    return json.loads(data) if data else None


call("GET", f"/company/companies/{company_id}")
closed = next(status["id"] for status in call("GET", "/company/configurations/statuses") if status["closedFlag"])
configurations, page = [], 1
while True:
    query = urllib.parse.urlencode({"conditions": f"company/id={company_id}", "page": page, "pageSize": 1000})
    batch = call("GET", f"/company/configurations?{query}")
    configurations += batch
    if len(batch) < 1000:
        break
    page += 1
written = 0
for configuration in configurations:
    if configuration["status"]["id"] != closed:
        call("PATCH", f"/company/configurations/{configuration['id']}", [{"op": "replace", "path": "status", "value": {"id": closed}}])
        written += 1
print(written)
