"""What a GraphQL document may ask for, measured in time linear in the document (GQ-01, GQ-11).

Three figures, each over the document with its fragments expanded:

- **depth**: how deeply fields nest (`{ viewer { user { email } } }` is 2). Introspection fields
  (`__schema`, `__type` and the fields of introspection types) add no depth, so that standard
  introspection queries and GraphiQL work; their cost, lists included, still counts.
- **aliases**: how many aliased fields the operations select.
- **cost**: how many field results the operations can produce. A field counts 1 (plus 1 per
  directive on it) and multiplies what it selects by its list size: a list of objects by
  `LIST_SIZE_ESTIMATE`, or by its known size in `LIST_SIZES` when it may be longer (a usage
  series has up to 60 buckets), a field returning a Relay connection by its page size (its
  literal `first`, the largest page when `first` comes from a variable, the default page
  otherwise), and that connection's `edges` by 1.

Each fragment is measured once and its figures reused at every spread, so a fragment spread
twice in each of thirty nested fragments costs thirty measurements, not 2³⁰ walks (Strawberry's
`QueryDepthLimiter` and `MaxAliasesLimiter` re-walk a fragment at every spread). Fragments are
ordered iteratively (no recursion across fragments), a fragment cycle is refused as such, and
figures are capped at `CEILING` so that arithmetic stays on small integers whatever the
document multiplies to.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql.type.definition import GraphQLNamedType
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)

LIST_SIZE_ESTIMATE = 10
# (type, field) -> the most items the list can hold, where that is more than the estimate.
LIST_SIZES = {
    ("Usage", "series"): 60,
    ("OrganisationUsage", "series"): 60,
    ("Usage", "lastErrors"): 20,
    ("OrganisationUsage", "lastErrors"): 20,
}
CEILING = 1 << 40


@dataclass(frozen=True)
class Measure:
    cost: int = 0
    aliases: int = 0
    depth: int = 0

    def plus(self, other: Measure) -> Measure:
        return Measure(
            cost=min(self.cost + other.cost, CEILING),
            aliases=min(self.aliases + other.aliases, CEILING),
            depth=max(self.depth, other.depth),
        )


@dataclass(frozen=True)
class OperationMeasure:
    name: str
    measure: Measure


class FragmentCycle(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class DocumentMeter:
    """Measures one document against one schema; `page_size_max` prices paged fields."""

    def __init__(self, schema: GraphQLSchema, *, page_size_max: int, default_page_size: int):
        self._schema = schema
        self._page_size_max = page_size_max
        self._default_page_size = default_page_size
        self._fragments: dict[str, FragmentDefinitionNode] = {}
        self._measured: dict[str, Measure] = {}

    def measure(
        self,
        operations: list[OperationDefinitionNode],
        fragments: list[FragmentDefinitionNode],
    ) -> list[OperationMeasure]:
        """Each operation's figures; raises FragmentCycle for a fragment that spreads itself."""
        for fragment in fragments:
            self._fragments.setdefault(fragment.name.value, fragment)
        for name in self._dependency_order():
            fragment = self._fragments[name]
            condition = self._schema.get_type(fragment.type_condition.name.value)
            self._measured[name] = self._selection_set(fragment.selection_set, condition)
        return [
            OperationMeasure(
                name=operation.name.value if operation.name else "anonymous",
                measure=self._selection_set(
                    operation.selection_set, self._schema.get_root_type(operation.operation)
                ),
            )
            for operation in operations
        ]

    def _dependency_order(self) -> list[str]:
        """Fragments, each after every fragment it spreads (iterative depth-first search)."""
        order: list[str] = []
        state: dict[str, bool] = {}  # False: on the current path; True: done
        for root in self._fragments:
            if root in state:
                continue
            state[root] = False
            stack = [(root, iter(_spread_names(self._fragments[root].selection_set)))]
            while stack:
                name, pending = stack[-1]
                child = next(pending, None)
                if child is None:
                    stack.pop()
                    state[name] = True
                    order.append(name)
                elif child not in self._fragments or state.get(child) is True:
                    continue
                elif child in state:
                    raise FragmentCycle(child)
                else:
                    state[child] = False
                    stack.append((child, iter(_spread_names(self._fragments[child].selection_set))))
        return order

    def _selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None
    ) -> Measure:
        total = Measure()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total = total.plus(self._field(selection, parent))
            elif isinstance(selection, FragmentSpreadNode):
                total = total.plus(self._measured.get(selection.name.value, Measure()))
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    self._schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                total = total.plus(self._selection_set(selection.selection_set, condition))
        return total

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Measure:
        definition = _field_definition(self._schema, parent, node.name.value)
        own = Measure(cost=1 + len(node.directives or ()), aliases=1 if node.alias else 0)
        if node.selection_set is None:
            return own
        child_type = get_named_type(definition.type) if definition else None
        introspection = node.name.value.startswith("__") or (
            child_type is not None and child_type.name.startswith("__")
        )
        below = self._selection_set(node.selection_set, child_type)
        multiplier = self._multiplier(node, definition, child_type, parent)
        return Measure(
            cost=min(own.cost + multiplier * below.cost, CEILING),
            aliases=min(own.aliases + below.aliases, CEILING),
            depth=below.depth if introspection else below.depth + 1,
        )

    def _multiplier(
        self,
        node: FieldNode,
        definition: GraphQLField | None,
        child_type: GraphQLNamedType | None,
        parent: GraphQLNamedType | None,
    ) -> int:
        if definition is None:
            return 1
        if _is_connection(child_type):
            for argument in node.arguments or ():
                if argument.name.value == "first":
                    if isinstance(argument.value, IntValueNode):
                        return max(1, min(int(argument.value.value), self._page_size_max))
                    return self._page_size_max
            return self._default_page_size
        if not _is_list(definition.type):
            return 1
        # A connection's page was counted by the field that returned the connection.
        if node.name.value == "edges" and _is_connection(parent):
            return 1
        if parent is None:
            return LIST_SIZE_ESTIMATE
        return LIST_SIZES.get((parent.name, node.name.value), LIST_SIZE_ESTIMATE)


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    """Names of the fragments spread anywhere in a selection set, without recursion."""
    names: list[str] = []
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)
    return names


def _field_definition(
    schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str
) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is not None and parent is schema.query_type:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        field: GraphQLField | None = parent.fields.get(name)
        return field
    return None


def _is_connection(type_: GraphQLNamedType | None) -> bool:
    """A Relay connection: an object type with `edges` and `pageInfo`."""
    return (
        isinstance(type_, GraphQLObjectType)
        and "edges" in type_.fields
        and "pageInfo" in type_.fields
    )


def _is_list(type_: GraphQLOutputType) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)
