"""Which key material a database belongs to: one fingerprint per kind of key (CR-10).

A fingerprint is an HMAC of a fixed label under the key, so it identifies the key without
revealing anything about it (auth/partners/key_fingerprints.py computes and checks it at start-up).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class KeyFingerprint(Model):
    # The kind of key: "secret_pepper" or "key_encryption_key".
    name = fields.CharField(max_length=32, primary_key=True)
    fingerprint = fields.CharField(max_length=64)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "key_fingerprint"
