"""Mailchimp audience (list) members, via the Marketing API 3.0.

Settings: MAILCHIMP_API_KEY (env; its "-usN" suffix names the data centre),
`config.list_id`, optional `config.tags` (a tag name or a list of them, added to every
member the sync sends); MAILCHIMP_BASE_URL overrides https://<dc>.api.mailchimp.com/3.0.
Purpose: email_marketing only.

- Upsert: POST /lists/{list_id} (batch subscribe, <= 500 members per call) with
  `update_existing: true`. Members get `status_if_new: subscribed` and never a `status`,
  so someone who unsubscribed in Mailchimp is updated but never resubscribed. Tags go in
  each member's `tags` (Mailchimp adds them to existing members too).
  Field mapping keys are merge tags (upper-cased: first_name -> FIRST_NAME).
- Consent withdrawn: the same batch call with `status: unsubscribed` for each member
  (an explicit status, never `status_if_new`), so the request cannot subscribe anyone;
  an archived or deleted member is kept as unsubscribed.
- Erase (right to be forgotten): POST /lists/{list_id}/members/{subscriber_hash}/actions/
  delete-permanent, one call per address; 404 (not there) counts as done.
- Partial failure: 200 with an `errors` array naming the email_address of each refused member.
- Clear: merge fields set to "" (Mailchimp's empty value).
- Remove: DELETE /lists/{list_id}/members/{subscriber_hash} (archive), where the hash is
  the MD5 of the lowercased email; one call per member.
  When a member's email changes, the old address is archived before the new one is added.
- Consent purpose: email marketing. At most 10 simultaneous connections.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from cdp.activate.delivery import BatchRejected, RateLimit
from cdp.activate.destinations.base import Destination, SyncRow
from cdp.identifiers import MissingIdentifier, email_for_destination, mailchimp_member_hash


class MailchimpDestination(Destination):
    batch_size: ClassVar[int] = 500
    max_payload_bytes: ClassVar[int | None] = 10_000_000
    rate_limits = (RateLimit(10, 1),)
    concurrency: ClassVar[int] = 10
    purposes = ("email_marketing",)
    credential_env = ("MAILCHIMP_API_KEY",)
    base_url_env = "MAILCHIMP_BASE_URL"
    required_config = ("list_id",)
    config_keys = frozenset({"tags"})
    keyed_by_identifiers = True
    supported_operations = frozenset({"upsert", "remove", "clear"})
    partial_failure = "200 with errors[] (email_address, error, error_code)"
    clears_field_with = 'merge field set to ""'
    withdraws_consent_with = "batch subscribe with status unsubscribed"
    erases_with = "POST /lists/{list_id}/members/{hash}/actions/delete-permanent"

    @classmethod
    def spec_problems(cls, spec) -> list[str]:
        problems = super().spec_problems(spec)
        tags = spec.config.get("tags")
        if tags is not None and not isinstance(tags, str) and not all(isinstance(tag, str) for tag in tags):
            problems.append("config.tags: a tag name or a list of tag names")
        return problems

    @property
    def tags(self) -> list[str]:
        tags = self.config("tags", [])
        return [tags] if isinstance(tags, str) else list(tags)

    @property
    def default_base_url(self) -> str:  # type: ignore[override]
        data_centre = self.secret("MAILCHIMP_API_KEY").rpartition("-")[2] or "us1"
        return f"https://{data_centre}.api.mailchimp.com/3.0"

    def open(self) -> None:
        super().open()
        self.sender.client.auth = httpx.BasicAuth("cdp", self.secret("MAILCHIMP_API_KEY"))

    def prepare(self, row: SyncRow) -> dict[str, Any]:
        email = row.identifier("email")
        if email is None:
            raise MissingIdentifier("no email")
        email = email_for_destination(str(email))
        if row.operation in ("remove", "retire"):  # retire: the old address of a changed email
            return {"email_address": email}
        if row.operation == "withdraw":
            return {"email_address": email, "status": "unsubscribed"}
        merge_fields = {
            name.upper(): "" if row.operation == "clear" or value is None else value
            for name, value in row.fields.items()
        }
        member = {"email_address": email, "status_if_new": "subscribed", "merge_fields": merge_fields}
        if self.tags and row.operation != "clear":
            member["tags"] = self.tags
        return member

    def send(self, operation: str, items: list[dict[str, Any]]) -> dict[int, str]:
        list_id = self.config("list_id")
        if operation == "remove":
            return self._each_member(items, "DELETE", f"/lists/{list_id}/members/{{member}}")
        response = self.post(f"/lists/{list_id}", json={"members": items, "update_existing": True})
        position = {item["email_address"]: index for index, item in enumerate(items)}
        failures: dict[int, str] = {}
        for error in response.json().get("errors") or []:
            index = position.get(str(error.get("email_address", "")).lower())
            if index is not None:
                failures[index] = f"{error.get('error_code', '')}: {error.get('error', 'refused')}".strip(": ")
        return failures

    def erase(self, people: list[dict[str, Any]]) -> dict[int, str]:
        emailed = [(index, person["email"]) for index, person in enumerate(people) if person.get("email")]
        items = [{"email_address": email_for_destination(str(email))} for _, email in emailed]
        path = f"/lists/{self.config('list_id')}/members/{{member}}/actions/delete-permanent"
        failures = self._each_member(items, "POST", path)
        return {emailed[position][0]: error for position, error in failures.items()}

    def _each_member(self, items: list[dict[str, Any]], method: str, path: str) -> dict[int, str]:
        """One call per member (archive, permanent delete); 404 means already gone: done."""
        failures: dict[int, str] = {}
        for index, item in enumerate(items):
            member = mailchimp_member_hash(item["email_address"])
            try:
                self.sender.request(method, path.format(member=member))
            except BatchRejected as error:
                if not str(error).startswith("404"):  # already gone is what we wanted
                    failures[index] = str(error)
        return failures


DESTINATION = MailchimpDestination
