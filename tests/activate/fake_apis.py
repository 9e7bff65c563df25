"""Local HTTP servers that speak each destination's documented API contract.

One `FakeApi` (stdlib ThreadingHTTPServer on 127.0.0.1, in a thread) runs one contract.
Every contract checks the auth header, the payload schema and the batch size limit, and
keeps the destination's resulting state (members, profiles) so tests can compare it with
what a clean run gives. Faults are scripted per request: 429 with Retry-After, 5xx, a
slow answer (the client times out), and rows refused inside a 200 (`refuse`).
A request that breaks the contract is answered 400 and kept in `violations`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ContractViolation(Exception):
    pass


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


class Contract:
    """Base: subclasses check auth and answer requests, keeping destination state."""

    def __init__(self) -> None:
        self.refuse: set[str] = set()  # identifiers (emails / ids) to refuse as bad rows
        self.lock = threading.Lock()

    def check_auth(self, headers) -> bool:
        raise NotImplementedError

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, Any]:
        raise NotImplementedError

    def snapshot(self) -> Any:
        raise NotImplementedError


class FakeApi:
    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.requests: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.faults: deque[tuple] = deque()
        self.in_flight = 0
        self.max_in_flight = 0
        # Crash tests: requests after the first `block_after` wait until `release` is set.
        self.block_after: int | None = None
        self.release = threading.Event()
        self.held = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeApi:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, *faults: tuple) -> None:
        """Script the next answers: ("429", retry_after), ("500",), ("timeout", seconds)."""
        self.faults.extend(faults)

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _answer(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
                body = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up or died
                    self.wfile.write(body)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with api._lock:
                    api.in_flight += 1
                    api.max_in_flight = max(api.max_in_flight, api.in_flight)
                    fault = api.faults.popleft() if api.faults else None
                try:
                    self._respond(body, fault)
                finally:
                    with api._lock:
                        api.in_flight -= 1

            def _respond(self, body: bytes, fault: tuple | None) -> None:
                api.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "body": body,
                        "headers": dict(self.headers),
                        "at": time.monotonic(),
                    }
                )
                if api.block_after is not None and len(api.requests) > api.block_after:
                    api.held.set()
                    api.release.wait()
                if not api.contract.check_auth(self.headers):
                    return self._answer(401, {"error": "unauthorized"})
                if fault:
                    kind = fault[0]
                    if kind == "429":
                        return self._answer(429, {"error": "rate limited"}, {"Retry-After": str(fault[1])})
                    if kind == "500":
                        return self._answer(500, {"error": "server error"})
                    if kind == "timeout":
                        time.sleep(fault[1])  # the client has given up by now; nothing is applied
                        return self._answer(504, {"error": "too slow"})
                try:
                    with api.contract.lock:
                        status, payload, *headers = api.contract.handle(self.command, self.path, self.headers, body)
                except ContractViolation as violation:
                    api.violations.append(f"{self.command} {self.path}: {violation}")
                    return self._answer(400, {"error": str(violation)})
                self._answer(status, payload, headers[0] if headers else None)

            do_POST = do_DELETE = do_PUT = do_PATCH = do_GET = _serve

        return Handler


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ContractViolation("body is not JSON") from None


def _bearer(headers, token: str) -> bool:
    return headers.get("Authorization") == f"Bearer {token}"


class WebhookContract(Contract):
    """Our own webhook format: signed JSON batches of rows."""

    def __init__(self, secret: str, max_rows: int = 500) -> None:
        super().__init__()
        self.secret, self.max_rows = secret, max_rows
        self.rows: dict[str, dict] = {}
        self.withdrawn: set[str] = set()
        self.erased: list[dict] = []

    def check_auth(self, headers) -> bool:
        return True  # checked on the body's signature below

    def handle(self, method, path, headers, body):
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("X-CDP-Signature", ""), expected):
            return 401, {"error": "bad signature"}
        payload = _json(body)
        require(set(payload) == {"sync", "run_id", "operation", "rows"}, f"keys {sorted(payload)}")
        require(len(payload["rows"]) <= self.max_rows, f"{len(payload['rows'])} rows > {self.max_rows}")
        errors = []
        for index, row in enumerate(payload["rows"]):
            if payload["operation"] == "erase":
                require(row.get("operation") == "erase" and "identifiers" in row, f"erase row {index}: {sorted(row)}")
                self.erased.append(row["identifiers"])
                self.rows = {k: v for k, v in self.rows.items() if v.get("email") != row["identifiers"].get("email")}
                continue
            require({"key", "operation", "identifiers", "fields"} <= set(row), f"row {index} keys {sorted(row)}")
            if row["key"] in self.refuse:
                errors.append({"index": index, "message": "refused by receiver"})
            elif row["operation"] in ("remove", "withdraw"):
                self.rows.pop(row["key"], None)
                if row["operation"] == "withdraw":
                    self.withdrawn.add(row["key"])
            else:
                self.rows[row["key"]] = {**row["identifiers"], **row["fields"]}
        return 200, {"errors": errors}

    def snapshot(self):
        return dict(self.rows)


class MailchimpContract(Contract):
    """POST /lists/{id} batch subscribe or unsubscribe (<= 500 members); DELETE
    /lists/{id}/members/{md5} (archive); POST .../members/{md5}/actions/delete-permanent."""

    def __init__(self, api_key: str, list_id: str) -> None:
        super().__init__()
        self.api_key, self.list_id = api_key, list_id
        self.members: dict[str, dict] = {}  # email -> {"status", "merge_fields", "tags"}
        self.deleted: set[str] = set()  # permanently deleted (right to be forgotten)

    def check_auth(self, headers) -> bool:
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        return base64.b64decode(encoded).decode().partition(":")[2] == self.api_key  # any user name

    def _by_hash(self, member_hash: str) -> str | None:
        return next((e for e in self.members if hashlib.md5(e.encode()).hexdigest() == member_hash), None)

    def handle(self, method, path, headers, body):
        member_path = re.fullmatch(rf"/lists/{self.list_id}/members/([0-9a-f]{{32}})(/actions/delete-permanent)?", path)
        if method == "DELETE" or (member_path and member_path.group(2)):
            require(member_path is not None, "member path must end in the 32-hex MD5 subscriber hash")
            email = self._by_hash(member_path.group(1))
            if email is None:
                return 404, {"title": "Resource Not Found"}
            if member_path.group(2):
                del self.members[email]
                self.deleted.add(email)
            else:
                self.members[email]["status"] = "archived"
            return 204, None
        require(method == "POST" and path == f"/lists/{self.list_id}", f"unexpected {method} {path}")
        payload = _json(body)
        members = payload.get("members")
        require(isinstance(members, list) and 0 < len(members) <= 500, "members: 1..500 required")
        require(payload.get("update_existing") is True, "update_existing must be true")
        errors, new, updated = [], [], []
        for member in members:
            require("email_address" in member, "member without email_address")
            if "status" in member:  # only ever to opt someone out: a status could resubscribe
                require(member["status"] == "unsubscribed", f"status {member['status']!r} could subscribe someone")
                require("status_if_new" not in member, "an unsubscribe carries no status_if_new")
            else:
                require(member.get("status_if_new") in ("subscribed", "pending"), "status_if_new required")
            email = member["email_address"]
            if email in self.refuse:
                errors.append(
                    {
                        "email_address": email,
                        "error": f"{email} looks fake or invalid",
                        "error_code": "ERROR_CONTACT_EXISTS",
                    }
                )
                continue
            existing = self.members.get(email)
            if "status" in member:
                stored = self.members.setdefault(email, {"merge_fields": {}, "tags": set()})
                stored["status"] = "unsubscribed"
                (updated if existing else new).append(email)
            elif existing and existing["status"] not in ("archived",):
                existing["merge_fields"].update(member.get("merge_fields") or {})
                existing.setdefault("tags", set()).update(member.get("tags") or ())
                updated.append(email)
            else:
                self.members[email] = {
                    "status": member["status_if_new"],
                    "merge_fields": dict(member.get("merge_fields") or {}),
                    "tags": set(member.get("tags") or ()),
                }
                new.append(email)
        return 200, {
            "new_members": [{"email_address": e} for e in new],
            "updated_members": [{"email_address": e} for e in updated],
            "errors": errors,
            "total_created": len(new),
            "total_updated": len(updated),
            "error_count": len(errors),
        }

    def snapshot(self):
        return {email: m for email, m in self.members.items() if m["status"] != "archived"}

    def subscribed(self) -> set[str]:
        return {email for email, m in self.members.items() if m["status"] == "subscribed"}


class KlaviyoContract(Contract):
    """POST /api/profile-bulk-import-jobs: <= 10,000 profiles and 5 MB; 202 with a job."""

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.profiles: dict[str, dict] = {}
        self.lists: dict[str, set[str]] = {}
        self.suppressed: set[str] = set()
        self.deleted: set[str] = set()

    def check_auth(self, headers) -> bool:
        return headers.get("Authorization") == f"Klaviyo-API-Key {self.api_key}"

    def handle(self, method, path, headers, body):
        require(bool(headers.get("revision")), "revision header required")
        if path == "/api/profile-suppression-bulk-create-jobs":
            return self._suppress(_json(body)["data"])
        if path == "/api/data-privacy-deletion-jobs":
            return self._delete(_json(body)["data"])
        require(method == "POST" and path == "/api/profile-bulk-import-jobs", f"unexpected {method} {path}")
        require(len(body) <= 5 * 1024 * 1024, f"payload {len(body)} bytes > 5 MB")
        data = _json(body)["data"]
        require(data["type"] == "profile-bulk-import-job", "type must be profile-bulk-import-job")
        profiles = data["attributes"]["profiles"]["data"]
        require(0 < len(profiles) <= 10_000, f"{len(profiles)} profiles (1..10,000)")
        list_ids = [entry["id"] for entry in (data.get("relationships") or {}).get("lists", {}).get("data", [])]
        for profile in profiles:
            require(profile["type"] == "profile", "profile type")
            attributes = profile["attributes"]
            key = attributes.get("email") or attributes.get("phone_number") or attributes.get("external_id")
            require(key is not None, "profile without email, phone_number or external_id")
            if "phone_number" in attributes:
                require(attributes["phone_number"].startswith("+"), "phone_number must be E.164")
            stored = self.profiles.setdefault(key, {})
            for name, value in {**attributes, **attributes.get("properties", {})}.items():
                if name != "properties" and value is not None:  # Klaviyo ignores nulls
                    stored[name] = value
            for list_id in list_ids:
                self.lists.setdefault(list_id, set()).add(key)
        return 202, {"data": {"type": "profile-bulk-import-job", "id": f"job{len(self.profiles)}"}}

    def _suppress(self, data):
        require(
            data["type"] == "profile-suppression-bulk-create-job", "type must be profile-suppression-bulk-create-job"
        )
        profiles = data["attributes"]["profiles"]["data"]
        require(0 < len(profiles) <= 100, f"{len(profiles)} profiles to suppress (1..100)")
        for profile in profiles:
            require(set(profile["attributes"]) == {"email"}, "suppression is by email only")
            self.suppressed.add(profile["attributes"]["email"])
        return 202, {"data": {"type": "profile-suppression-bulk-create-job", "id": f"sup{len(self.suppressed)}"}}

    def _delete(self, data):
        require(data["type"] == "data-privacy-deletion-job", "type must be data-privacy-deletion-job")
        attributes = data["attributes"]["profile"]["data"]["attributes"]
        require(len(attributes) == 1 and set(attributes) <= {"email", "phone_number", "id"}, "one identifier")
        ((_, key),) = attributes.items()
        self.profiles.pop(key, None)
        for members in self.lists.values():
            members.discard(key)
        self.deleted.add(key)
        return 202, None

    def snapshot(self):
        return {"profiles": self.profiles, "lists": self.lists}


class HubspotContract(Contract):
    """CRM objects: batch upsert by a unique property (<= 100 inputs; 207 for partial errors),
    property definitions, v3 unsubscribe, GDPR delete; rate-limit headers on every answer,
    and 429 past `max_per_10s` requests in any `window_s` (10) seconds."""

    def __init__(self, token: str, max_per_10s: int = 190, window_s: float = 10.0) -> None:
        super().__init__()
        self.token = token
        self.objects: dict[str, dict] = {}  # hs_object_id -> properties
        self.properties: dict[str, dict] = {"email": {"hasUniqueValue": True}}
        self.unsubscribed: set[tuple[str, str]] = set()  # (email, subscription id)
        self.deleted: set[str] = set()
        self.max_per_10s, self.window_s = max_per_10s, window_s
        self.recent: deque[float] = deque()
        self.rate_limited = 0  # 429s answered

    def check_auth(self, headers) -> bool:
        return _bearer(headers, self.token)

    def _rate(self) -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
        while self.recent and self.recent[0] <= now - self.window_s:
            self.recent.popleft()
        allowed = len(self.recent) < self.max_per_10s
        if allowed:
            self.recent.append(now)
        headers = {
            "X-HubSpot-RateLimit-Max": str(self.max_per_10s),
            "X-HubSpot-RateLimit-Remaining": str(self.max_per_10s - len(self.recent)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window_s * 1000)),
        }
        return allowed, headers

    def handle(self, method, path, headers, body):
        allowed, rate_headers = self._rate()
        if not allowed:
            self.rate_limited += 1
            return 429, {"status": "error", "category": "RATE_LIMITS"}, {**rate_headers, "Retry-After": "1"}
        status, payload = self._route(method, path, body)
        return status, payload, rate_headers

    def _route(self, method, path, body):
        prop = re.fullmatch(r"/crm/v3/properties/(\w+)(?:/(\w+))?", path)
        if prop:
            return self._property(method, prop.group(2), body)
        if path == "/communication-preferences/v3/unsubscribe":
            return self._unsubscribe(_json(body))
        if path == "/crm/v3/objects/contacts/gdpr-delete":
            return self._gdpr_delete(_json(body))
        require(method == "POST" and re.fullmatch(r"/crm/v3/objects/\w+/batch/upsert", path) is not None, path)
        return self._upsert(_json(body).get("inputs"))

    def _property(self, method, name, body):
        if method == "GET":
            return (200, {"name": name, **self.properties[name]}) if name in self.properties else (404, {})
        definition = _json(body)
        require({"name", "label", "type", "fieldType", "groupName"} <= set(definition), "property definition")
        if definition["name"] in self.properties:
            return 409, {"message": "Property already exists"}
        self.properties[definition["name"]] = {"hasUniqueValue": bool(definition.get("hasUniqueValue"))}
        return 201, definition

    def find(self, prop: str, value: str) -> str | None:
        return next((oid for oid, props in self.objects.items() if props.get(prop) == value), None)

    def _upsert(self, inputs):
        require(isinstance(inputs, list) and 0 < len(inputs) <= 100, "inputs: 1..100")
        results, errors = [], []
        for entry in inputs:
            require({"idProperty", "id", "properties"} <= set(entry), f"input keys {sorted(entry)}")
            require(all(value is not None for value in entry["properties"].values()), "null property (use '')")
            require(self.properties.get(entry["idProperty"], {}).get("hasUniqueValue"), "idProperty must be unique")
            oid = self.find(entry["idProperty"], entry["id"])
            email = entry["properties"].get("email")
            taken = email and self.find("email", email) not in (None, oid)
            if entry["id"] in self.refuse or taken:
                errors.append(
                    {
                        "status": "error",
                        "category": "CONFLICT" if taken else "VALIDATION_ERROR",
                        "message": "Contact already exists" if taken else "Property values were not valid",
                        "context": {"ids": [entry["id"]]},
                    }
                )
                continue
            oid = oid or str(len(self.objects) + len(self.deleted) + 1)
            self.objects.setdefault(oid, {}).update({entry["idProperty"]: entry["id"], **entry["properties"]})
            results.append({"id": oid, "properties": entry["properties"]})
        status = 207 if errors else 200
        return status, {"status": "COMPLETE", "results": results, "errors": errors}

    def _unsubscribe(self, payload):
        require({"emailAddress", "subscriptionId"} <= set(payload), "emailAddress and subscriptionId required")
        key = (payload["emailAddress"], payload["subscriptionId"])
        if key in self.unsubscribed:
            return 400, {"status": "error", "message": f"{key[0]} is already unsubscribed from subscription {key[1]}"}
        self.unsubscribed.add(key)
        return 200, {"id": key[1], "status": "NOT_SUBSCRIBED"}

    def _gdpr_delete(self, payload):
        require({"objectId", "idProperty"} <= set(payload), "objectId and idProperty required")
        oid = self.find(payload["idProperty"], payload["objectId"])
        if oid is None:
            return 404, {"message": "resource not found"}
        self.deleted.add(payload["objectId"])
        del self.objects[oid]
        return 204, None

    def snapshot(self):
        """Contacts by the value of the property they were upserted by (cdp_customer_id or email)."""
        return {props.get("cdp_customer_id") or props.get("email"): props for props in self.objects.values()}


class MetaContract(Contract):
    """POST / DELETE /{audience_id}/users with payload.schema + payload.data (<= 10,000 rows)."""

    def __init__(self, token: str, audience_id: str) -> None:
        super().__init__()
        self.token, self.audience_id = token, audience_id
        self.members: set[tuple[str, ...]] = set()
        self.schema: list[str] | None = None

    def check_auth(self, headers) -> bool:
        return _bearer(headers, self.token)

    def handle(self, method, path, headers, body):
        require(path == f"/{self.audience_id}/users", f"unexpected path {path}")
        payload = _json(body)["payload"]
        schema, data = payload["schema"], payload["data"]
        require(set(schema) <= {"EMAIL", "PHONE", "COUNTRY", "FN", "LN", "EXTERN_ID"}, f"schema {schema}")
        require(0 < len(data) <= 10_000, f"{len(data)} rows (1..10,000)")
        invalid = 0
        for row in data:
            require(len(row) == len(schema), "row length differs from schema")
            require(all(value == "" or HEX64.match(value) for value in row), "values must be SHA-256 hex")
            if any(value in self.refuse for value in row):
                invalid += 1  # Meta counts them, without saying which
                continue
            (self.members.add if method == "POST" else self.members.discard)(tuple(row))
        self.schema = schema
        return 200, {
            "audience_id": self.audience_id,
            "session_id": "1",
            "num_received": len(data),
            "num_invalid_entries": invalid,
            "invalid_entry_samples": {},
        }

    def snapshot(self):
        return set(self.members)


class GoogleAdsContract(Contract):
    """offlineUserDataJobs: create (consent required), addOperations (<= 10,000 identifiers), run."""

    def __init__(self, token: str, developer_token: str, customer_id: str, user_list_id: str) -> None:
        super().__init__()
        self.token, self.developer_token = token, developer_token
        self.customer_id, self.user_list_id = customer_id, user_list_id
        self.jobs: dict[str, list[tuple[str, tuple]]] = {}
        self.members: set[tuple] = set()

    def check_auth(self, headers) -> bool:
        return _bearer(headers, self.token) and headers.get("developer-token") == self.developer_token

    def handle(self, method, path, headers, body):
        payload = _json(body)
        if path == f"/customers/{self.customer_id}/offlineUserDataJobs:create":
            job = payload["job"]
            require(job["type"] == "CUSTOMER_MATCH_USER_LIST", "job type")
            metadata = job["customerMatchUserListMetadata"]
            require(metadata["userList"] == f"customers/{self.customer_id}/userLists/{self.user_list_id}", "userList")
            require(metadata.get("consent", {}).get("adUserData") == "GRANTED", "consent.adUserData required")
            require(
                metadata.get("consent", {}).get("adPersonalization") == "GRANTED", "consent.adPersonalization required"
            )
            name = f"customers/{self.customer_id}/offlineUserDataJobs/{len(self.jobs) + 1}"
            self.jobs[name] = []
            return 200, {"resourceName": name}
        match = re.fullmatch(r"/(customers/\d+/offlineUserDataJobs/\d+):(addOperations|run)", path)
        require(match is not None and match.group(1) in self.jobs, f"unknown job path {path}")
        job = match.group(1)
        if match.group(2) == "run":
            for verb, identifiers in self.jobs[job]:
                (self.members.add if verb == "create" else self.members.discard)(identifiers)
            return 200, {"name": f"operations/{job}"}
        operations = payload["operations"]
        identifiers_count = sum(len(op.get("create", op.get("remove", {}))["userIdentifiers"]) for op in operations)
        require(identifiers_count <= 10_000, f"{identifiers_count} identifiers > 10,000")
        errors = []
        for index, operation in enumerate(operations):
            verb = "create" if "create" in operation else "remove"
            identifiers = operation[verb]["userIdentifiers"]
            for identifier in identifiers:
                ((kind, value),) = identifier.items()
                require(kind in ("hashedEmail", "hashedPhoneNumber") and HEX64.match(value), f"identifier {kind}")
            key = tuple(sorted(v for identifier in identifiers for v in identifier.values()))
            if any(value in self.refuse for value in key):
                errors.append(
                    {
                        "message": "invalid",
                        "location": {"fieldPathElements": [{"fieldName": "operations", "index": index}]},
                    }
                )
                continue
            self.jobs[job].append((verb, key))
        answer: dict[str, Any] = {}
        if errors:
            answer["partialFailureError"] = {"code": 3, "message": "partial", "details": [{"errors": errors}]}
        return 200, answer

    def snapshot(self):
        return set(self.members)


class BrazeContract(Contract):
    """POST /users/track: <= 75 attribute objects; 201 with errors[] for refused objects."""

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.users: dict[str, dict] = {}
        self.deleted: set[str] = set()

    def check_auth(self, headers) -> bool:
        return _bearer(headers, self.api_key)

    def handle(self, method, path, headers, body):
        if path == "/users/delete":
            return self._delete(_json(body))
        require(method == "POST" and path == "/users/track", f"unexpected {method} {path}")
        attributes = _json(body).get("attributes")
        require(isinstance(attributes, list) and 0 < len(attributes) <= 75, "attributes: 1..75")
        errors = []
        for index, user in enumerate(attributes):
            key = user.get("external_id") or user.get("email")
            require(key is not None, "attributes object without external_id or email")
            require(user.get("email_subscribe") in (None, "unsubscribed"), "cdp never opts anyone in")
            if key in self.refuse:
                errors.append({"type": "'external_id' is not a valid", "input_array": "attributes", "index": index})
                continue
            stored = self.users.setdefault(key, {})
            for name, value in user.items():
                if value is None:
                    stored.pop(name, None)  # null removes the attribute in Braze
                else:
                    stored[name] = value
        return 201, {
            "message": "success",  # Braze says success even when some attributes failed
            "attributes_processed": len(attributes) - len(errors),
            "errors": errors,
        }

    def _delete(self, payload):
        kinds = [
            kind
            for kind in ("external_ids", "user_aliases", "braze_ids", "email_addresses", "phone_numbers")
            if kind in payload
        ]
        require(len(kinds) == 1, f"exactly one kind of identifier per request, got {kinds}")
        values = payload[kinds[0]]
        require(0 < len(values) <= 50, f"{len(values)} identifiers (1..50)")
        for value in values:
            for key in [k for k, user in self.users.items() if value in (k, user.get("email"))]:
                del self.users[key]
            self.deleted.add(value)
        return 201, {"deleted": len(values), "message": "success"}

    def snapshot(self):
        return self.users
