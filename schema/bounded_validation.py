"""Validation that refuses an over-budget document before any rule that could be costly runs.

graphql-core runs every validation rule in one shared walk, so a budget written as just another
rule cannot stop the others; and the rules whose work grows with the *expanded* document
(overlapping-field merging compares fields pairwise) must only ever see documents whose expanded
size is bounded. So this extension measures the document first (schema/document_cost.py, linear
in the document) and runs the specified rules only when it is within budget. The verdict is
cached per parsed document (the parser cache hands back the same object for the same text), so
the admin page's operations are measured and validated once per process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
)
from schema.document_cost import DocumentMeter, FragmentCycle

TOO_COMPLEX = {"code": "QUERY_TOO_COMPLEX"}

Rules = tuple[type[ASTValidationRule], ...]
Validator = Callable[[GraphQLSchema, DocumentNode, Rules], list[GraphQLError]]


@dataclass(frozen=True)
class DocumentBudget:
    max_depth: int
    max_aliases: int
    max_cost: int
    page_size_max: int
    default_page_size: int


def budget_errors(
    schema: GraphQLSchema, document: DocumentNode, budget: DocumentBudget
) -> list[GraphQLError]:
    """Why the document is over budget; empty when it is within it."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    meter = DocumentMeter(
        schema, page_size_max=budget.page_size_max, default_page_size=budget.default_page_size
    )
    try:
        measured = meter.measure(operations, fragments)
    except FragmentCycle as cycle:
        return [
            GraphQLError(
                f"Cannot spread fragment '{cycle.name}' within itself.", extensions=TOO_COMPLEX
            )
        ]
    errors = [
        GraphQLError(
            f"'{operation.name}' exceeds maximum operation depth of {budget.max_depth}",
            extensions=TOO_COMPLEX,
        )
        for operation in measured
        if operation.measure.depth > budget.max_depth
    ]
    aliases = sum(operation.measure.aliases for operation in measured)
    if aliases > budget.max_aliases:
        errors.append(
            GraphQLError(
                f"{aliases} aliases found. Allowed: {budget.max_aliases}", extensions=TOO_COMPLEX
            )
        )
    cost = sum(operation.measure.cost for operation in measured)
    if cost > budget.max_cost:
        errors.append(
            GraphQLError(
                f"Query cost {cost} exceeds the maximum of {budget.max_cost}: ask for fewer "
                "fields, smaller pages or fewer nested lists.",
                extensions=TOO_COMPLEX,
            )
        )
    return errors


def bounded_validator(budget: DocumentBudget, *, cache_size: int) -> Validator:
    """Budget first, then the rules; one cache of verdicts for one schema."""

    @lru_cache(maxsize=cache_size)
    def validate(schema: GraphQLSchema, document: DocumentNode, rules: Rules) -> list[GraphQLError]:
        return budget_errors(schema, document, budget) or validate_document(schema, document, rules)

    return validate


class BoundedValidation(SchemaExtension):
    def __init__(self, validate: Validator, extra_rules: Rules = ()) -> None:
        super().__init__()
        self._validate = validate
        self._extra_rules = extra_rules

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = self._validate(
            context.schema._schema,
            context.graphql_document,
            (*context.validation_rules, *self._extra_rules),
        )
        yield
