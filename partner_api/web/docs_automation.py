"""The developer guide's section on automating secret rotation from CI: an admin API token,
the three GraphQL operations and the loop between them (rotate, hand over the new secret, wait
for the previous one to be `safeToEnd`, end it).

The page cannot link to files in the repository, and the complete script
(docs/examples/rotate_credential.py) is not part of the installed package, so the section shows its
operations and its core loop inline and names the file. tests/test_docs_automation.py checks that
both are verbatim copies of the script, and runs the script against a live server.
"""

from __future__ import annotations

from partner_api.foundation.settings import Settings
from partner_api.web.docs_html import bullet_list, code_block, inline, paragraph, section

ANCHOR = "automating-rotation"
TITLE = "Automating rotation"
OPERATIONS_LABEL = "GraphQL: rotate, watch, end"
CORE_LABEL = "Python (gql): the core of docs/examples/rotate_credential.py"
# The script's ROTATE, SECRETS and END documents, in that order.
OPERATIONS = """
mutation RotateSecret($input: RegenerateCredentialSecretInput!) {
  regenerateCredentialSecret(input: $input) {
    __typename
    ... on CredentialSecretRegenerated {
      clientSecret
      credential { id name secrets { id hint createdAt expiresAt } }
    }
    ... on UserError { message }
  }
}

query PreviousSecret($id: ID!) {
  credential(id: $id) {
    status
    secrets { id hint createdAt expiresAt lastUsedAt safeToEnd }
  }
}

mutation EndPreviousSecret($input: EndPreviousSecretInput!) {
  endPreviousSecret(input: $input) {
    __typename
    ... on UserError { message }
  }
}
"""
CORE = """
def rotate(session: SyncClientSession, options: Options) -> None:
    grace = {"id": options.credential_id, "gracePeriodMinutes": options.grace_minutes}
    result = execute(session, ROTATE, {"input": grace})["regenerateCredentialSecret"]
    if result["__typename"] != ROTATED:
        raise refused("regenerateCredentialSecret", result)
    current, *previous = result["credential"]["secrets"]  # newest first
    say(f"{result['credential']['name']}: new secret ...{current['hint']} created")
    hand_over(result["clientSecret"])
    if not previous:
        say("no previous secret is left (grace period 0): nothing to end")
        return
    try:
        wait_until_safe_to_end(session, options, previous[0]["id"], current["createdAt"])
    except Stop as stop:
        raise Stop(stop.code, f"{stop}. {still_works(previous[0])}") from None


def wait_until_safe_to_end(
    session: SyncClientSession, options: Options, secret_id: str, rotated_at: str
) -> None:
    deadline = time.monotonic() + options.max_wait_seconds
    told = False
    while True:
        credential = execute(session, SECRETS, {"id": options.credential_id})["credential"]
        if credential is None:
            raise Stop(Exit.NOT_FOUND, "the credential is gone")
        if credential["status"] != "ACTIVE":
            raise Stop(Exit.NOT_ACTIVE, f"the credential is {credential['status']} now")
        secret = next((s for s in credential["secrets"] if s["id"] == secret_id), None)
        if secret is None:
            say("the previous secret already ended (its grace period ran out, or it was ended)")
            return
        if secret["safeToEnd"]:
            end(session, options, secret)
            return
        used = secret["lastUsedAt"]
        if used is not None and parse(used) >= parse(rotated_at):
            # "Not used since the rotation" can never hold again: waiting longer cannot help.
            raise Stop(Exit.NOT_ENDED, f"the previous secret was used after the rotation ({used})")
        if time.monotonic() + options.poll_seconds > deadline:
            raise Stop(Exit.NOT_ENDED, f"not safe to end within {options.max_wait_seconds:g} s")
        if not told:
            say(
                f"previous secret ...{secret['hint']} not used since the rotation; waiting until "
                f"clients have renewed their access tokens (a look every {options.poll_seconds:g}s)"
            )
            told = True
        time.sleep(options.poll_seconds)
"""


def _steps(settings: Settings) -> str:
    settle = settings.access_token_ttl_seconds + settings.last_used_write_interval_seconds
    steps = (
        "`regenerateCredentialSecret(input: {id, gracePeriodMinutes})`: a new secret, shown "
        "once as `clientSecret`; the previous secret keeps working for the grace period.",
        "Put the new secret in your secret store at once, and have your integration move to it "
        "before it next asks for an access token.",
        "Poll `credential(id) { secrets { id safeToEnd } }` until the previous secret's "
        "`safeToEnd` is true: it has not been used since the rotation, and the rotation is at "
        f"least one access-token lifetime plus one last-used write interval old ({settle} "
        "seconds here), so no client still holds a token it obtained with it. A use after the "
        "rotation means something still runs on the previous secret: it never becomes safe to "
        "end then, so stop and find it.",
        "`endPreviousSecret(input: {id, secretId})`: the previous secret and every token it "
        "obtained stop working at once.",
    )
    return "<ol>" + "".join(f"<li>{inline(step)}</li>" for step in steps) + "</ol>"


def automating_rotation(settings: Settings) -> str:
    return section(
        ANCHOR,
        TITLE,
        paragraph(
            "Your organisation's administrators can rotate a credential's secret from a "
            "pipeline instead of the admin page. The pipeline calls the admin GraphQL API "
            f"(`POST {settings.issuer}/graphql`) with an admin API token in "
            "`Authorization: Bearer pat_…`, which an owner or admin creates once with "
            "`createApiToken(input: {name, role, expiresAt})`: role `ADMIN`, an expiry, kept "
            "as a CI secret. A rotation without downtime takes four steps:"
        )
        + _steps(settings)
        + code_block(OPERATIONS, label=OPERATIONS_LABEL)
        + code_block(CORE, label=CORE_LABEL)
        + paragraph(
            "The complete script, `docs/examples/rotate_credential.py` in the service's "
            "repository, reads `PARTNER_API_URL` and `PARTNER_API_TOKEN` from the environment "
            "and the credential's id (not its client ID) from its arguments, prints the new "
            "secret as its only line on stdout for your secret store, never writes a secret or "
            "token anywhere else, and exits with its own code for every refusal. "
            "`docs/automation.md` walks through it, "
            "and `docs/examples/rotate-partner-credential.yml` runs it from GitHub Actions."
        )
        + bullet_list(
            inline(point)
            for point in (
                "Give the token the `ADMIN` role (rotating needs no more) and an expiry; revoke "
                "it with `revokeApiToken` when the pipeline no longer needs it.",
                "The audit trail names the token as the actor of every rotation it makes.",
                "The regenerate call is not idempotent: if its answer is lost, the new secret "
                "is lost too. The previous secret keeps working for its grace period, so run "
                "the rotation again.",
            )
        ),
    )
