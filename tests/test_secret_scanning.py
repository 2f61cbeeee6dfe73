"""GitHub secret scanning reports leaked `pcs_` secrets to `POST /secret-scanning/github`
(SECURITY-PLANNED.md LK-01..03): only reports signed by a key GitHub lists are read, only our own
secrets are true positives, and a confirmed leak is audited, notified and (END_SECRET) ends that
secret and its tokens at once, on every process within 1 s.

GitHub is played by a key server on 127.0.0.1 publishing locally generated P-256 keys
(tests/github_secret_scanning.py); the reports are signed with the matching private keys.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from auth.admins.identity import Actor
from auth.partners.authorization_server import AuthorizationServer
from auth.partners.change_feed import ChangeFeed
from auth.tokens import client_secret_lookup_id, new_client_secret
from models.audit import AuditEvent
from models.credential import CredentialSecret
from models.enums import ActorType, AuditAction
from models.notifications import (
    LeakedSecretAction,
    LeakReport,
    MailMessage,
    NotificationEvent,
    NotificationType,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.oauth import ChangeEvent
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.foundation.settings_notifications import LeakReportSettings
from partner_api.operations.credentials import IssuedSecret, regenerate_secret
from partner_api.operations.leak_reports import (
    ACTOR_LABEL,
    act_on,
    judge,
    parse_report,
    report_digest,
)
from partner_api.operations.services import Services
from partner_api.web.app import create_app
from partner_api.web.secret_scanning import PATH
from tests.github_secret_scanning import (
    LEAK_URL,
    TOKEN_TYPE,
    GitHub,
    match,
    report_body,
    send,
    serve_github,
)
from tests.helpers import make_credential, publish_as_another_process, wrong_secret_for
from tests.test_api_tokens import forged, new_token, owner_session, viewer_role
from tests.test_partner_events import access_token, organisation
from tests.test_revocation_bound import (
    BOUND_SECONDS,
    LONGEST_POLL_MILLISECONDS,
    NOT_YET_POLLED,
    FeedClock,
    Instance,
    instance_of,
)

SYSTEM = Actor(identity=None, ip_address=None, user_agent="tests")


@pytest.fixture
async def github() -> AsyncIterator[GitHub]:
    async with serve_github() as server:
        yield server


@pytest.fixture
def settings(settings: Settings, github: GitHub) -> Settings:
    return replace(settings, leak_reports=LeakReportSettings(github_keys_url=github.keys_url))


@dataclass(frozen=True)
class Leaky:
    """A credential with two live secrets: `previous` (in a grace period) and `current`, and an
    access token obtained with each."""

    org: Organisation
    previous: IssuedSecret
    current: IssuedSecret
    previous_token: str
    current_token: str


async def leaky_credential(client: httpx.AsyncClient, hasher: Any) -> Leaky:
    org = await organisation()
    previous = await make_credential(organisation=org)
    previous_token = await access_token(client, previous)
    current = await regenerate_secret(
        TenantScope(org.id),
        SYSTEM,
        str(previous.credential.id),
        timedelta(hours=1),
        hasher=hasher,
        now=utcnow(),
    )
    return Leaky(org, previous, current, previous_token, await access_token(client, current))


def services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


async def subscribed_endpoint(org: Organisation) -> WebhookEndpoint:
    return await WebhookEndpoint.create(
        organisation=org,
        url="https://hooks.partner.example/leaks",
        event_types=[NotificationType.CREDENTIAL_SECRET_LEAKED.value],
        sealed_secret="sealed",
        secret_hint="abcd",
    )


async def token_request(client: httpx.AsyncClient, issued: IssuedSecret) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(issued.credential.client_id, issued.secret_value),
    )


async def me(client: httpx.AsyncClient, token: str) -> int:
    response = await client.get("/partner/v1/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def secret_row(issued: IssuedSecret) -> CredentialSecret:
    return await CredentialSecret.get(lookup_id=client_secret_lookup_id(issued.secret_value))


def label(token: str, verdict: str, token_type: str = TOKEN_TYPE) -> dict[str, str]:
    return {"token_raw": token, "token_type": token_type, "label": verdict}


async def leak_audits() -> list[AuditEvent]:
    return await AuditEvent.filter(action=AuditAction.CREDENTIAL_SECRET_LEAKED).order_by(
        "occurred_at"
    )


async def leak_events() -> list[NotificationEvent]:
    return await NotificationEvent.filter(type=NotificationType.CREDENTIAL_SECRET_LEAKED).order_by(
        "occurred_at"
    )


# -- LK-02 / LK-03: a real secret reported ----------------------------------------------------


async def test_lk03_a_leaked_secret_stops_at_once_and_the_credential_other_secret_keeps_working(
    app: Starlette, client: httpx.AsyncClient, github: GitHub
) -> None:
    leaky = await leaky_credential(client, services_of(app).hasher)
    endpoint = await subscribed_endpoint(leaky.org)
    leaked = leaky.current.secret_value
    body = report_body(match(leaked, source="commit"))

    response = await send(client, body, github.key)

    assert response.status_code == 200, response.text
    assert response.json() == [label(leaked, "true_positive")]
    # The leaked secret and the token it obtained stop at once.
    refused = await token_request(client, leaky.current)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert await me(client, leaky.current_token) == 401
    # The credential goes on with its other secret, and that secret's tokens.
    assert await me(client, leaky.previous_token) == 200
    assert (await token_request(client, leaky.previous)).status_code == 200

    secret = await secret_row(leaky.current)
    [audit] = await leak_audits()
    assert audit.actor_type is ActorType.SYSTEM
    assert audit.actor_label == "GitHub secret scanning"
    assert audit.credential_id == leaky.current.credential.id  # type: ignore[attr-defined]
    assert audit.after == {
        "url": LEAK_URL,
        "source": "commit",
        "secretId": str(secret.id),
        "action": "END_SECRET",
    }
    [event] = await leak_events()
    assert event.organisation_id == leaky.org.id  # type: ignore[attr-defined]
    assert {name: event.data[name] for name in ("url", "source", "secret_id", "action")} == {
        "url": LEAK_URL,
        "source": "commit",
        "secret_id": str(secret.id),
        "action": "END_SECRET",
    }
    # Notified: a webhook delivery, and a mail to the credential's contact naming where.
    assert await WebhookDelivery.filter(endpoint=endpoint, event=event).count() == 1
    [mail] = await MailMessage.filter(event=event)
    assert mail.recipients == [leaky.current.credential.contact_email]
    assert LEAK_URL in mail.body
    # WH-02: the leaked value is in no audit event, notification or mail.
    written: list[object] = [audit.after, *(item.data for item in await NotificationEvent.all())]
    written += [(mail.subject, mail.body) for mail in await MailMessage.all()]
    assert leaked not in json.dumps(written)


async def test_lk03_a_leaked_secret_in_its_grace_period_ends_and_the_current_one_keeps_working(
    app: Starlette, client: httpx.AsyncClient, github: GitHub
) -> None:
    leaky = await leaky_credential(client, services_of(app).hasher)
    leaked = leaky.previous.secret_value

    response = await send(client, report_body(match(leaked)), github.key)

    assert response.json() == [label(leaked, "true_positive")]
    assert (await token_request(client, leaky.previous)).status_code == 401
    assert await me(client, leaky.previous_token) == 401
    assert await me(client, leaky.current_token) == 200
    assert (await token_request(client, leaky.current)).status_code == 200


async def test_lk02_a_wrong_but_well_formed_secret_is_a_false_positive_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, github: GitHub
) -> None:
    leaky = await leaky_credential(client, services_of(app).hasher)
    # Our format and checksum, and an existing secret's lookup part: only the keyed hash differs.
    wrong = wrong_secret_for(leaky.current.secret_value)
    unknown = new_client_secret().value  # well-formed, but no secret has its lookup part
    ours = leaky.current.secret_value
    mistyped = ours[:-1] + ("y" if ours.endswith("x") else "x")  # the checksum fails
    foreign = "ghp_" + "a" * 36
    tokens = [wrong, unknown, mistyped, foreign]

    response = await send(client, report_body(*(match(token) for token in tokens)), github.key)

    assert response.status_code == 200, response.text
    assert response.json() == [label(token, "false_positive") for token in tokens]
    assert await leak_audits() == []
    assert await leak_events() == []
    assert (await token_request(client, leaky.current)).status_code == 200
    assert await me(client, leaky.current_token) == 200


async def test_lk02_the_answer_is_the_label_per_token_in_report_order_and_nothing_else(
    app: Starlette, client: httpx.AsyncClient, github: GitHub
) -> None:
    leaky = await leaky_credential(client, services_of(app).hasher)
    ours = leaky.previous.secret_value
    other = wrong_secret_for(ours)
    body = report_body(
        match(other, token_type="custom_type"), match(ours), match(other, source="npm")
    )

    response = await send(client, body, github.key)

    assert response.json() == [
        label(other, "false_positive", "custom_type"),
        label(ours, "true_positive"),
        label(other, "false_positive"),
    ]
    assert response.headers["cache-control"] == "no-store"


async def test_lk03_notify_only_audits_and_notifies_but_the_secret_keeps_working(
    app: Starlette, client: httpx.AsyncClient, github: GitHub
) -> None:
    leaky = await leaky_credential(client, services_of(app).hasher)
    await Organisation.filter(id=leaky.org.id).update(
        leaked_secret_action=LeakedSecretAction.NOTIFY_ONLY
    )
    leaked = leaky.current.secret_value

    response = await send(client, report_body(match(leaked)), github.key)

    assert response.json() == [label(leaked, "true_positive")]
    [audit] = await leak_audits()
    assert audit.after is not None
    assert audit.after["action"] == "NOTIFY_ONLY"
    [event] = await leak_events()
    assert event.data["action"] == "NOTIFY_ONLY"
    assert (await secret_row(leaky.current)).ended_at is None
    assert (await token_request(client, leaky.current)).status_code == 200
    assert await me(client, leaky.current_token) == 200


async def test_lk03_an_ended_secret_reported_again_is_a_true_positive_with_no_second_action(
    app: Starlette, client: httpx.AsyncClient, github: GitHub
) -> None:
    leaky = await leaky_credential(client, services_of(app).hasher)
    leaked = leaky.current.secret_value
    await send(client, report_body(match(leaked)), github.key)
    ended_at = (await secret_row(leaky.current)).ended_at
    changes = await ChangeEvent.all().count()

    elsewhere = "https://github.com/octo/fork/blob/9c1e/settings.py"
    response = await send(client, report_body(match(leaked, url=elsewhere)), github.key)

    assert response.json() == [label(leaked, "true_positive")]
    assert (await secret_row(leaky.current)).ended_at == ended_at
    assert await ChangeEvent.all().count() == changes
    first, second = await leak_audits()
    assert second.after == {**(first.after or {}), "url": elsewhere, "action": "ALREADY_ENDED"}
    assert [event.data["action"] for event in await leak_events()] == [
        "END_SECRET",
        "ALREADY_ENDED",
    ]
    assert await me(client, leaky.previous_token) == 200


async def test_lk03_one_report_naming_both_secrets_ends_both_in_one_go(
    app: Starlette, client: httpx.AsyncClient, github: GitHub
) -> None:
    leaky = await leaky_credential(client, services_of(app).hasher)
    tokens = [leaky.previous.secret_value, leaky.current.secret_value]

    response = await send(client, report_body(*(match(token) for token in tokens)), github.key)

    assert response.json() == [label(token, "true_positive") for token in tokens]
    assert await me(client, leaky.previous_token) == 401
    assert await me(client, leaky.current_token) == 401
    assert [audit.after["action"] for audit in await leak_audits() if audit.after] == [
        "END_SECRET",
        "END_SECRET",
    ]


# -- LK-03 on every other process: within 1 s ---------------------------------------------------
#
# As in tests/test_revocation_bound.py: the second app's change feed polls by a clock the test
# moves, at the longest interval the settings accept, and publications are hidden from the
# in-process shortcut, so it learns of the leak only by polling, as another process would.


@pytest.fixture
def separate_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    publish_as_another_process(monkeypatch)


@pytest.fixture
async def second(app: Starlette, settings: Settings) -> AsyncIterator[tuple[Instance, FeedClock]]:
    other = create_app(
        replace(settings, change_feed_poll_milliseconds=LONGEST_POLL_MILLISECONDS),
        manage_database=False,
    )
    server: AuthorizationServer = other.state.services.authorization_server
    clock = FeedClock()
    server.feed = ChangeFeed(
        server, poll_interval_seconds=LONGEST_POLL_MILLISECONDS / 1000, clock=clock
    )
    async with instance_of(other) as instance:
        yield instance, clock


async def test_lk03_a_leaked_secret_stops_on_another_process_within_1s(
    app: Starlette,
    client: httpx.AsyncClient,
    github: GitHub,
    second: tuple[Instance, FeedClock],
    separate_processes: None,
) -> None:
    other, feed_clock = second
    leaky = await leaky_credential(client, services_of(app).hasher)
    # The other process has the credential cached: it verified the token and issued one.
    assert await other.accepts(leaky.current_token)
    assert (await token_request(other.client, leaky.current)).status_code == 200

    response = await send(client, report_body(match(leaky.current.secret_value)), github.key)
    assert response.json() == [label(leaky.current.secret_value, "true_positive")]
    assert await other.accepts(leaky.current_token), NOT_YET_POLLED
    feed_clock.advance(BOUND_SECONDS)

    assert not await other.accepts(leaky.current_token)
    refused = await token_request(other.client, leaky.current)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert await other.accepts(leaky.previous_token)
    assert (await token_request(other.client, leaky.previous)).status_code == 200


# -- concurrency ------------------------------------------------------------------------------


async def test_lk01_the_same_report_sent_twice_at_once_is_acted_on_once(
    app: Starlette, client: httpx.AsyncClient, github: GitHub
) -> None:
    leaky = await leaky_credential(client, services_of(app).hasher)
    await Organisation.filter(id=leaky.org.id).update(
        leaked_secret_action=LeakedSecretAction.NOTIFY_ONLY
    )
    body = report_body(match(leaky.current.secret_value))
    headers = github.key.headers(body)

    answers = await asyncio.gather(
        *(client.post(PATH, content=body, headers=headers) for _ in range(2))
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert len(await leak_audits()) == 1
    assert len(await leak_events()) == 1
    assert await LeakReport.all().count() == 1


async def test_lk01_two_copies_of_a_report_acted_on_at_the_same_moment_act_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """Both copies passed the replay check before either committed: the report's digest, a
    primary key, lets one transaction through and refuses the other."""
    leaky = await leaky_credential(client, services_of(app).hasher)
    body = report_body(match(leaky.current.secret_value))
    verdicts = await judge(services_of(app).hasher, parse_report(body))

    outcomes = await asyncio.gather(
        *(act_on(verdicts, digest=report_digest(body), actor=SYSTEM, now=utcnow()) for _ in "ab"),
        return_exceptions=True,
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["NoneType", "ReplayedReport"]
    assert len(await leak_audits()) == 1
    assert len(await leak_events()) == 1


# -- admin API tokens (pat_) reported ------------------------------------------------------------


async def test_lk03_a_leaked_admin_api_token_is_revoked_at_once_and_audited(
    client: httpx.AsyncClient, github: GitHub
) -> None:
    session = await owner_session(client)
    token, token_id = await new_token(client, session, name="CI rotation")
    other, _ = await new_token(client, session, name="Terraform")
    wrong = forged(token)
    assert await viewer_role(client, token) == "ADMIN"

    response = await send(
        client,
        report_body(match(wrong, token_type="pat"), match(token, token_type="pat")),
        github.key,
    )

    assert response.json() == [
        label(wrong, "false_positive", "pat"),
        label(token, "true_positive", "pat"),
    ]
    assert await viewer_role(client, token) is None
    assert await viewer_role(client, other) == "ADMIN", "only the reported token stops"
    events = await AuditEvent.filter(action=AuditAction.API_TOKEN_REVOKED)
    assert len(events) == 1
    event = events[0]
    assert (event.actor_type, event.actor_label) == (ActorType.SYSTEM, ACTOR_LABEL)
    assert event.after == {
        "id": token_id,
        "name": "CI rotation",
        "leaked": {"url": LEAK_URL, "source": "content"},
        "action": "REVOKED",
    }
    assert token not in json.dumps(event.after)


async def test_lk03_a_revoked_api_token_reported_again_is_ours_with_no_second_revocation(
    client: httpx.AsyncClient, github: GitHub
) -> None:
    session = await owner_session(client)
    token, _ = await new_token(client, session)
    first = await send(client, report_body(match(token, token_type="pat")), github.key)
    again = await send(
        client, report_body(match(token, token_type="pat", source="npm")), github.key
    )

    assert first.json() == again.json() == [label(token, "true_positive", "pat")]
    events = await AuditEvent.filter(action=AuditAction.API_TOKEN_REVOKED).order_by("occurred_at")
    actions = [(event.after or {}).get("action") for event in events]
    assert actions == ["REVOKED", "ALREADY_ENDED"]
