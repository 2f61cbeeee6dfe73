"""Field permissions. Not being logged in is a top-level error; a role that may not change
credentials is an expected outcome and returns the `PermissionDenied` union member instead."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from schema.context import Context
from schema.errors import NotAuthenticated


class IsAuthenticated(BasePermission):
    message = "Authentication required: log in first."

    def has_permission(
        self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any
    ) -> bool:
        return info.context.identity is not None

    def on_unauthorized(self) -> None:
        raise NotAuthenticated(self.message)
