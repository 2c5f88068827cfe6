"""What every mutation shares: `clientMutationId`, and `errors` for problems with the input.

Apps' service functions raise Django's `ValidationError` keyed by input field (snake_case,
dotted for list items: `items.0.quantity`) with a `code`; the base class turns it into
`errors: [FieldError!]!` with camelCase field names and stable upper-case codes. Each
service function is one transaction; the mutation opens none of its own. Problems with
who is asking (UNAUTHENTICATED, FORBIDDEN) or with the object the mutation targets (NOT_FOUND)
stay top-level coded GraphQL errors.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import graphene
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from graphene import relay
from graphene.utils.str_converters import to_camel_case
from graphene.utils.trim_docstring import trim_docstring

INVALID = "INVALID"


class FieldError(graphene.ObjectType):  # type: ignore[misc]  # graphene is untyped
    """A problem with one input field (or with the input as a whole when `field` is null)."""

    field = graphene.String(
        description="The input field in camelCase; list items as a path: `items.0.quantity`."
    )
    message = graphene.String(
        required=True,
        description="What is wrong, in English, to show to a person; programs match `code`.",
    )
    code = graphene.String(
        required=True, description="Stable, upper-case: REQUIRED, MIN_VALUE, UNIQUE, NOT_FOUND…"
    )


def camel_path(field: str | None) -> str | None:
    if not field or field == NON_FIELD_ERRORS:
        return None
    return ".".join(to_camel_case(part) for part in field.split("."))


def field_errors(error: ValidationError) -> list[FieldError]:
    """One FieldError per message of a Django ValidationError, keeping each message's code."""
    items: Iterable[tuple[str | None, list[ValidationError]]]
    if hasattr(error, "error_dict"):
        items = error.error_dict.items()
    else:
        items = [(None, error.error_list)]
    found: list[FieldError] = []
    for field, errors in items:
        for item in errors:
            for single in item.error_list if hasattr(item, "error_list") else [item]:
                message = single.message % single.params if single.params else single.message
                found.append(
                    FieldError(
                        field=camel_path(field),
                        message=str(message),
                        code=(single.code or INVALID).upper(),
                    )
                )
    return found


def invalid(field: str, message: str, code: str = INVALID) -> ValidationError:
    """A ValidationError for one field, ready to raise from a service function."""
    return ValidationError({field: ValidationError(message, code=code.lower())})


CLIENT_MUTATION_ID = (
    "Any string you choose, echoed unchanged in the payload to match a response to its "
    "request (Relay); optional."
)


class Mutation(relay.ClientIDMutation):  # type: ignore[misc]  # graphene is untyped
    """Base class: implement `perform(cls, info, **input)` returning the payload.

    The subclass's docstring describes the mutation field; its input and payload types, their
    `clientMutationId` and the `input` argument get texts of their own (below).
    """

    errors = graphene.List(
        graphene.NonNull(FieldError),
        required=True,
        description="Problems with the input; empty on success.",
    )

    class Meta:
        abstract = True

    @classmethod
    def __init_subclass_with_meta__(cls, description: str | None = None,
                                    input_fields: dict[str, Any] | None = None,
                                    **options: Any) -> None:
        field = cls.__name__[:1].lower() + cls.__name__[1:]
        # graphene builds the input type from `input_fields` (and the `Input` class): a `Meta`
        # among them is that type's Meta.
        input_fields = {"Meta": {"description": f"What `{field}` takes."}, **(input_fields or {})}
        super().__init_subclass_with_meta__(
            description=description or (
                f"What `{field}` returns. `errors` lists problems with the input, empty on "
                "success; the other fields are set only on success."
            ),
            input_fields=input_fields,
            **options,
        )
        cls._meta.fields["client_mutation_id"].description = CLIENT_MUTATION_ID
        cls.Input._meta.fields["client_mutation_id"].description = CLIENT_MUTATION_ID
        cls._meta.arguments["input"] = graphene.Argument(
            cls.Input, required=True, description="The mutation's input fields, in one object."
        )

    @classmethod
    def Field(cls, name: str | None = None, description: str | None = None,
              deprecation_reason: str | None = None, required: bool = False) -> graphene.Field:
        """The mutation field, described by the subclass's docstring (graphene's would fall
        back to the payload type's description)."""
        return graphene.Field(
            cls._meta.output,
            args=cls._meta.arguments,
            resolver=cls._meta.resolver,
            name=name,
            description=description or trim_docstring(cls.__doc__),
            deprecation_reason=deprecation_reason,
            required=required,
        )

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **input: Any) -> Mutation:
        raise NotImplementedError

    @classmethod
    def mutate_and_get_payload(cls, root: Any, info: graphene.ResolveInfo, **input: Any
                               ) -> Mutation:
        input.pop("client_mutation_id", None)  # graphene copies it onto the payload
        try:
            # The service function it calls is the transaction (the apps' services own
            # them, as the admin and the shell use the same functions): a refused write
            # writes nothing, and never undoes another mutation of the request that succeeded.
            payload = cls.perform(info, **input)
        except ValidationError as error:
            return cls(errors=field_errors(error))
        if payload.errors is None:
            payload.errors = []
        return payload
