"""The developer guide's section on automating secret rotation from CI: an admin API token,
the three GraphQL operations and the loop between them (rotate, hand over the new secret, wait
for the previous one to be `safeToEnd`, end it).

What the section shows of the script is read from the script itself
(docs/examples/rotate_credential.py, which the wheel carries as partner_api/docs_examples/), so the
page and the script cannot drift apart; tests/test_docs_automation.py runs that script against a
live server.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from partner_api.foundation.settings import Settings
from partner_api.web.docs_html import bullet_list, code_block, inline, paragraph, section

ANCHOR = "automating-rotation"
TITLE = "Automating rotation"
OPERATIONS_LABEL = "GraphQL: rotate, watch, end"
CORE_LABEL = "Python (gql): the core of docs/examples/rotate_credential.py"
SCRIPT_NAME = "rotate_credential.py"
# The script's GraphQL documents, and the functions that are its core loop, in page order.
SHOWN_DOCUMENTS = ("ROTATE", "SECRETS", "END")
SHOWN_FUNCTIONS = ("rotate", "wait_until_safe_to_end")
PACKAGE_DIRECTORY = Path(__file__).resolve().parent.parent
logger = logging.getLogger("partner_api")


def script_path() -> Path:
    """The script as installed (the wheel's copy) or in the checkout (an editable install)."""
    packaged = PACKAGE_DIRECTORY / "docs_examples" / SCRIPT_NAME
    return (
        packaged
        if packaged.is_file()
        else PACKAGE_DIRECTORY.parent / "docs" / "examples" / SCRIPT_NAME
    )


def script_excerpts(source: str) -> tuple[str, str]:
    """The script's shown documents (joined by blank lines) and core functions, verbatim."""
    tree = ast.parse(source)
    documents: dict[str, str] = {}
    functions: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in SHOWN_DOCUMENTS:
                    documents[target.id] = str(node.value.value).strip()
        elif isinstance(node, ast.FunctionDef) and node.name in SHOWN_FUNCTIONS:
            functions[node.name] = ast.get_source_segment(source, node) or ""
    operations = "\n\n".join(documents[name] for name in SHOWN_DOCUMENTS)
    core = "\n\n\n".join(functions[name] for name in SHOWN_FUNCTIONS)
    return operations, core


def _excerpts() -> tuple[str, str] | None:
    path = script_path()
    try:
        return script_excerpts(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, KeyError):
        logger.warning("docs: the rotation script is missing or changed shape at %s", path)
        return None


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


def _code() -> str:
    excerpts = _excerpts()
    if excerpts is None:
        return ""
    operations, core = excerpts
    return code_block(operations, label=OPERATIONS_LABEL) + code_block(core, label=CORE_LABEL)


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
        + _code()
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
