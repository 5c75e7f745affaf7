"""template.yaml, loaded and resolved against local values instead of a CloudFormation stack.

CloudFormation resolves ``!Ref``, ``!GetAtt``, ``!Sub`` and friends when it deploys; locally
this module does the same with fixed pseudo parameters and physical names derived from the
logical ids, so that everything the local stack creates is read from the template itself.
Only what is asked for is resolved: a property of a resource type the local stack skips
(an IAM policy, a log group) is never evaluated. The YAML is read by
``local_stack.cloudformation_yaml``; the local values come from ``local_stack.stack_context``.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from local_stack.cloudformation_yaml import load_document
from local_stack.stack_context import StackContext

NO_VALUE = object()
"""What ``!Ref AWS::NoValue`` resolves to: the property or list item is dropped."""


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve."""


# Types whose physical name comes from a property of their own (else it is generated).
_NAME_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::DynamoDB::Table": ("TableName",),
    "AWS::SQS::Queue": ("QueueName",),
    "AWS::S3::Bucket": ("BucketName",),
    "AWS::Glue::Database": ("DatabaseInput", "Name"),
    "AWS::Serverless::Function": ("FunctionName",),
    "AWS::Lambda::Function": ("FunctionName",),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::SNS::Topic": ("TopicName",),
    "AWS::Serverless::LayerVersion": ("LayerName",),
}

SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")  # a ${Name} of Fn::Sub


class Template:
    """A loaded template plus the local values its intrinsic functions resolve against."""

    def __init__(self, document: dict[str, Any], *, root: Path, context: StackContext | None = None) -> None:
        self.document = document
        self.root = root
        self.context = context or StackContext()
        self._resolving: list[str] = []

    @classmethod
    def load(cls, path: str | Path, context: StackContext | None = None) -> Template:
        path = Path(path).resolve()
        document = load_document(path)
        if not isinstance(document, dict) or "Resources" not in document:
            raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
        return cls(document, root=path.parent, context=context)

    # ----------------------------------------------------------------- sections

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.document.get("Resources") or {}

    @property
    def parameters(self) -> dict[str, str | list[str]]:
        """Each parameter's value: an override, else its default (as strings, like CloudFormation)."""
        values: dict[str, str | list[str]] = {}
        for name, spec in (self.document.get("Parameters") or {}).items():
            if name in self.context.parameter_overrides:
                raw: Any = self.context.parameter_overrides[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no Default: pass it in parameter_overrides")
            kind = str(spec.get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                values[name] = raw if isinstance(raw, list) else [s.strip() for s in str(raw).split(",")]
            else:
                values[name] = _scalar_to_string(raw)
        return values

    def resource_type(self, logical_id: str) -> str:
        try:
            return str(self.resources[logical_id]["Type"])
        except KeyError:
            raise TemplateError(f"no resource {logical_id} in the template") from None

    def resources_of_type(self, *types: str) -> list[str]:
        """Logical ids of the resources of these types, in template order."""
        return [logical_id for logical_id, spec in self.resources.items() if spec.get("Type") in types]

    def raw_properties(self, logical_id: str) -> dict[str, Any]:
        self.resource_type(logical_id)
        return self.resources[logical_id].get("Properties") or {}

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's properties with every intrinsic function resolved."""
        return self.resolve(self.raw_properties(logical_id))

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """A serverless function's properties merged with ``Globals.Function``, unresolved.

        SAM's rules: maps merge (the function wins), lists are concatenated (globals first),
        any other value of the function replaces the global one.
        """
        globals_ = (self.document.get("Globals") or {}).get("Function") or {}
        return _merge_globals(globals_, self.raw_properties(logical_id))

    def outputs(self) -> dict[str, Any]:
        return {
            name: self.resolve(spec["Value"]) for name, spec in (self.document.get("Outputs") or {}).items()
        }

    # ----------------------------------------------------------------- names

    def ref(self, logical_id: str) -> Any:
        """What ``!Ref`` returns for a parameter, pseudo parameter or resource."""
        pseudo = self._pseudo_parameter(logical_id)
        if pseudo is not None:
            return pseudo
        parameters = self.parameters
        if logical_id in parameters:
            return parameters[logical_id]
        if "." in logical_id:
            return self._sam_property(logical_id)
        kind = self.resource_type(logical_id)
        name = self.physical_name(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"{self.context.endpoint_url}/{self.context.account_id}/{name}"
        if kind in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            return self.context.api_id
        if kind in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            return self._arn("lambda", f"layer:{name}:1")
        return name

    def physical_name(self, logical_id: str) -> str:
        """The resource's name: the one the template gives it, else ``<stack>-<LogicalId>``."""
        kind = self.resource_type(logical_id)
        path = _NAME_PROPERTIES.get(kind)
        if path:
            value: Any = self.raw_properties(logical_id)
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if value is not None:
                return str(self._resolve_guarded(logical_id, value))
        name = f"{self.context.stack_name}-{logical_id}"
        if kind == "AWS::S3::Bucket":
            name = name.lower()
        if kind == "AWS::Glue::Database":
            name = name.lower().replace("-", "_")
        if kind == "AWS::SQS::Queue" and _is_true(self.raw_properties(logical_id).get("FifoQueue")):
            name += ".fifo"
        return name

    def _sam_property(self, reference: str) -> str:
        """SAM's referenceable properties: ``!Ref Function.Alias`` (the ARN of the alias that
        AutoPublishAlias makes), ``Function.Version`` (its published version; always 1 here) and
        ``Api.Stage`` (the stage's name)."""
        logical_id, _, name = reference.partition(".")
        kind = self.resource_type(logical_id)
        if kind == "AWS::Serverless::Function" and name in ("Alias", "Version"):
            alias = self.raw_properties(logical_id).get("AutoPublishAlias")
            if alias is None:
                raise TemplateError(f"!Ref {reference}: {logical_id} has no AutoPublishAlias")
            arn = self.get_att(logical_id, "Arn")
            return f"{arn}:{self.resolve(alias)}" if name == "Alias" else f"{arn}:1"
        if kind == "AWS::Serverless::Api" and name == "Stage":
            return str(self.resolve(self.raw_properties(logical_id)["StageName"]))
        raise TemplateError(f"cannot resolve !Ref {reference} ({kind}) locally")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        kind = self.resource_type(logical_id)
        name = self.physical_name(logical_id)
        account, region = self.context.account_id, self.context.region
        attributes: dict[str, Any]
        if kind == "AWS::DynamoDB::Table":
            attributes = {
                "Arn": self._arn("dynamodb", f"table/{name}"),
                "StreamArn": self._arn("dynamodb", f"table/{name}/stream/1970-01-01T00:00:00.000"),
            }
        elif kind == "AWS::SQS::Queue":
            attributes = {
                "Arn": self._arn("sqs", name),
                "QueueName": name,
                "QueueUrl": self.ref(logical_id),
            }
        elif kind == "AWS::S3::Bucket":
            attributes = {
                "Arn": f"arn:{self.context.partition}:s3:::{name}",
                "DomainName": f"{name}.s3.{self.context.url_suffix}",
                "RegionalDomainName": f"{name}.s3.{region}.{self.context.url_suffix}",
                "DualStackDomainName": f"{name}.s3.dualstack.{region}.{self.context.url_suffix}",
                "WebsiteURL": f"http://{name}.s3-website-{region}.{self.context.url_suffix}",
            }
        elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            attributes = {"Arn": self._arn("lambda", f"function:{name}")}
        elif kind in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            attributes = {"RootResourceId": "rootresource", "RestApiId": self.context.api_id}
        elif kind == "AWS::Logs::LogGroup":
            attributes = {"Arn": self._arn("logs", f"log-group:{name}:*")}
        elif kind == "AWS::SNS::Topic":
            attributes = {"TopicArn": self._arn("sns", name), "TopicName": name}
        elif kind == "AWS::IAM::Role":
            attributes = {"Arn": f"arn:{self.context.partition}:iam::{account}:role/{name}", "RoleId": name}
        else:
            attributes = {}
        if attribute not in attributes:
            raise TemplateError(f"cannot resolve !GetAtt {logical_id}.{attribute} ({kind}) locally")
        return attributes[attribute]

    # ----------------------------------------------------------------- intrinsics

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by its local result."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                if argument == "AWS::NoValue":
                    return NO_VALUE
                return self.ref(self.resolve(argument))
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str) -> bool:
        conditions = self.document.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"no condition {name} in the template")
        return bool(self.resolve(conditions[name]))

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            if isinstance(argument, str):
                argument = argument.split(".", 1)
            logical_id, attribute = (self.resolve(part) for part in argument)
            return self.get_att(logical_id, attribute)
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(_scalar_to_string(item) for item in self.resolve(items))
        if name == "Fn::Select":
            index, items = argument
            items = self.resolve(items)
            return items[int(self.resolve(index))]
        if name == "Fn::Split":
            delimiter, source = argument
            return str(self.resolve(source)).split(str(delimiter))
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return _scalar_to_string(left) == _scalar_to_string(right)
        if name == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if name == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if name == "Fn::Not":
            return not self.resolve(argument[0])
        if name == "Fn::FindInMap":
            map_name, top, second = (self.resolve(item) for item in argument[:3])
            return self.resolve(self.document["Mappings"][map_name][top][second])
        if name == "Fn::Base64":
            import base64

            return base64.b64encode(str(self.resolve(argument)).encode()).decode()
        if name == "Fn::GetAZs":
            return [f"{self.context.region}{zone}" for zone in "abc"]
        if name == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument), separators=(",", ":"))
        if name == "Fn::Length":
            return len(self.resolve(argument))
        raise TemplateError(f"{name} is not supported by the local stack")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1] if len(argument) > 1 else {})
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):  # ${!Literal} stands for the text ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return _scalar_to_string(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return _scalar_to_string(self.get_att(logical_id, attribute))
            return _scalar_to_string(self.ref(name))

        return SUB_VARIABLE.sub(replace, str(text))

    def _pseudo_parameter(self, name: str) -> Any:
        return {
            "AWS::AccountId": self.context.account_id,
            "AWS::Region": self.context.region,
            "AWS::Partition": self.context.partition,
            "AWS::StackName": self.context.stack_name,
            "AWS::StackId": self.context.stack_id,
            "AWS::URLSuffix": self.context.url_suffix,
            "AWS::NotificationARNs": [],
        }.get(name)

    def _resolve_guarded(self, logical_id: str, value: Any) -> Any:
        if logical_id in self._resolving:
            cycle = " -> ".join([*self._resolving, logical_id])
            raise TemplateError(f"circular reference while naming resources: {cycle}")
        self._resolving.append(logical_id)
        try:
            return self.resolve(value)
        finally:
            self._resolving.pop()

    def _arn(self, service: str, resource: str) -> str:
        ctx = self.context
        return f"arn:{ctx.partition}:{service}:{ctx.region}:{ctx.account_id}:{resource}"


def _merge_globals(globals_: Any, own: Any) -> Any:
    if isinstance(globals_, dict) and isinstance(own, dict) and not _is_intrinsic(own):
        merged = copy.deepcopy(globals_)
        for key, value in own.items():
            merged[key] = _merge_globals(globals_[key], value) if key in globals_ else copy.deepcopy(value)
        return merged
    if isinstance(globals_, list) and isinstance(own, list):
        return [*copy.deepcopy(globals_), *copy.deepcopy(own)]
    return copy.deepcopy(own)


def _is_intrinsic(value: dict[str, Any]) -> bool:
    return (len(value) == 1 and next(iter(value)) in ("Ref", "Condition")) or any(
        key.startswith("Fn::") for key in value
    )


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _scalar_to_string(value: Any) -> str:
    """How CloudFormation turns a scalar into a string: booleans lower-case, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
