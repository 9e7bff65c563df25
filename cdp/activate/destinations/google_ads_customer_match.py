"""Google Ads Customer Match user lists, via offline user data jobs (REST).

Settings: GOOGLE_ADS_ACCESS_TOKEN (OAuth), GOOGLE_ADS_DEVELOPER_TOKEN, GOOGLE_ADS_CUSTOMER_ID
(env), optional GOOGLE_ADS_LOGIN_CUSTOMER_ID, `config.user_list_id`; GOOGLE_ADS_BASE_URL
overrides https://googleads.googleapis.com/v18.

Per batch: create a CUSTOMER_MATCH_USER_LIST job (with the consent fields adUserData and
adPersonalization GRANTED: the engine only sends people with ads consent), add the
operations (create or remove; partial failure enabled), run the job. A batch is
acknowledged only once the job runs. At most ~10,000 identifiers per call: 5,000 rows of
up to two identifiers.

- Identifiers: email -> hashedEmail (trimmed, lowercased; gmail.com / googlemail.com
  without dots and +tag), phone -> hashedPhoneNumber (E.164 with "+", the row's
  country_code as the default region); SHA-256 hex.
- Partial failure: partialFailureError.details[].errors[].location.fieldPathElements
  (operations[index]).
- Membership expires after 540 days: members last uploaded more than 510 days ago are
  uploaded again (a month's margin).
- Consent withdrawn and erase (right to be forgotten): a job of `remove` operations with
  the identifiers last sent. Purpose: ads only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cdp.activate.delivery import RateLimit
from cdp.activate.destinations.base import Destination, SyncRow, erase_by_removal
from cdp.identifiers import MissingIdentifier, google_email, phone_for_destination, sha256_hex


class GoogleAdsCustomerMatchDestination(Destination):
    batch_size: ClassVar[int] = 5_000
    max_payload_bytes: ClassVar[int | None] = 10_000_000
    rate_limits = (RateLimit(10, 1),)
    concurrency: ClassVar[int] = 1  # one job at a time per user list
    purposes = ("ads",)
    credential_env = ("GOOGLE_ADS_ACCESS_TOKEN", "GOOGLE_ADS_DEVELOPER_TOKEN", "GOOGLE_ADS_CUSTOMER_ID")
    base_url_env = "GOOGLE_ADS_BASE_URL"
    default_base_url = "https://googleads.googleapis.com/v18"
    required_config = ("user_list_id",)
    keyed_by_identifiers = True
    supported_operations = frozenset({"upsert", "remove"})
    membership_ttl_days = 510
    partial_failure = "partialFailureError with operation indexes"
    clears_field_with = "n/a (audience membership only)"
    withdraws_consent_with = "offline user data job with remove operations"
    erases_with = "offline user data job with remove operations"
    erase_batch_size: ClassVar[int] = 5_000

    def headers(self) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.secret('GOOGLE_ADS_ACCESS_TOKEN')}",
            "developer-token": self.secret("GOOGLE_ADS_DEVELOPER_TOKEN"),
        }
        if self.secret("GOOGLE_ADS_LOGIN_CUSTOMER_ID"):
            headers["login-customer-id"] = self.secret("GOOGLE_ADS_LOGIN_CUSTOMER_ID")
        return headers

    def prepare(self, row: SyncRow) -> dict[str, Any]:
        identifiers = []
        if row.identifier("email") is not None:
            identifiers.append({"hashedEmail": sha256_hex(google_email(str(row.identifier("email"))))})
        if row.identifier("phone") is not None:
            region = row.identifier("country_code") or row.identifier("country")
            identifiers.append(
                {"hashedPhoneNumber": sha256_hex(phone_for_destination(str(row.identifier("phone")), region))}
            )
        if not identifiers:
            raise MissingIdentifier("no email or phone")
        return {"userIdentifiers": identifiers}

    def send(self, operation: str, items: list[dict[str, Any]]) -> dict[int, str]:
        customer = self.secret("GOOGLE_ADS_CUSTOMER_ID").replace("-", "")
        job = {
            "type": "CUSTOMER_MATCH_USER_LIST",
            "customerMatchUserListMetadata": {
                "userList": f"customers/{customer}/userLists/{self.config('user_list_id')}",
                "consent": {"adUserData": "GRANTED", "adPersonalization": "GRANTED"},
            },
        }
        created = self.post(f"/customers/{customer}/offlineUserDataJobs:create", json={"job": job}).json()
        job_name = created["resourceName"]
        verb = "create" if operation == "upsert" else "remove"  # remove, withdraw
        added = self.post(
            f"/{job_name}:addOperations",
            json={"enablePartialFailure": True, "operations": [{verb: item} for item in items]},
        ).json()
        self.post(f"/{job_name}:run", json={})
        return _partial_failures(added)

    def erase(self, people: list[dict[str, Any]]) -> dict[int, str]:
        return erase_by_removal(self, people)


def _partial_failures(answer: dict[str, Any]) -> dict[int, str]:
    failures: dict[int, str] = {}
    for detail in (answer.get("partialFailureError") or {}).get("details") or []:
        for error in detail.get("errors") or []:
            for element in (error.get("location") or {}).get("fieldPathElements") or []:
                if element.get("fieldName") == "operations" and "index" in element:
                    failures[int(element["index"])] = error.get("message", "refused")
    return failures


DESTINATION = GoogleAdsCustomerMatchDestination
