"""Values that many cached credentials of a worker have in common, held once.

A worker caches one `CredentialState` per active credential (credential_directory.py); with tens
of thousands of them, a copy per state of what is the same for most — the scope set every FULL
credential has, its organisation's id and name — is most of a state's size. These functions hand
out one shared object per distinct value, for as many distinct values as a worker plausibly sees;
beyond that they return the value itself, so the tables stay bounded whatever the data.
"""

from __future__ import annotations

from uuid import UUID

from models.enums import AccessLevel
from partner_api.foundation.scopes import effective_scopes

MAX_SHARED = 4096

_scope_sets: dict[tuple[AccessLevel, tuple[str, ...]], tuple[tuple[str, ...], frozenset[str]]] = {}
_organisations: dict[tuple[UUID, str], tuple[UUID, str]] = {}
_organisation_texts: dict[UUID, str] = {}


def shared_scopes(
    access_level: AccessLevel, stored_scopes: tuple[str, ...]
) -> tuple[tuple[str, ...], frozenset[str]]:
    """The scopes a credential may use (`effective_scopes`), as a tuple and as a set."""
    key = (access_level, stored_scopes)
    shared = _scope_sets.get(key)
    if shared is None:
        allowed = tuple(effective_scopes(access_level, stored_scopes))
        shared = (allowed, frozenset(allowed))
        if len(_scope_sets) < MAX_SHARED:
            _scope_sets[key] = shared
    return shared


def shared_organisation(organisation_id: UUID, name: str) -> tuple[UUID, str]:
    """An organisation's id and name (a renamed organisation is a new pair)."""
    key = (organisation_id, name)
    shared = _organisations.get(key)
    if shared is None:
        shared = key
        if len(_organisations) < MAX_SHARED:
            _organisations[key] = shared
    return shared


def shared_organisation_text(organisation_id: UUID) -> str:
    """An organisation's id as text (as access tokens and usage rows carry it)."""
    text = _organisation_texts.get(organisation_id)
    if text is None:
        text = str(organisation_id)
        if len(_organisation_texts) < MAX_SHARED:
            _organisation_texts[organisation_id] = text
    return text
