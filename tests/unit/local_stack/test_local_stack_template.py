"""template.yaml loaded and resolved against local values."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.cloudformation_yaml import load_document
from local_stack.creation_order import creation_order
from local_stack.stack_context import StackContext
from local_stack.template import Template, TemplateError

PROJECT_TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"

SNIPPET = """
Parameters:
  Env:
    Type: String
    Default: dev
  Count:
    Type: Number
    Default: 3
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Globals:
  Function:
    Timeout: 29
    Layers: [!Ref Shared]
    Environment:
      Variables:
        TABLE: !Ref Table
        LEVEL: INFO
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: !Ref Count
  DeadLetters:
    Type: AWS::SQS::Queue
  Bucket:
    Type: AWS::S3::Bucket
    DependsOn: Policy
    Properties:
      BucketName: !Sub
        - data-${AWS::AccountId}-${Suffix}
        - Suffix: !Select [0, !Split ["-", !Select [2, !Split ["/", !Ref AWS::StackId]]]]
      Tags:
        - Key: literal
          Value: !Sub "${!NotAVariable} in ${AWS::Region}"
        - !If [IsProd, {Key: prod, Value: "yes"}, !Ref AWS::NoValue]
  Policy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/shared/
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 900
      Layers: [!Ref Other]
      Environment:
        Variables:
          LEVEL: DEBUG
          QUEUE_ARN: !GetAtt [Queue, Arn]
  Other:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/other/
Outputs:
  QueueUrl:
    Value: !Ref Queue
"""


@pytest.fixture
def snippet(tmp_path: Path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(SNIPPET)
    return Template.load(path, StackContext(endpoint_url="http://127.0.0.1:4566"))


def test_a_yaml_file_without_resources_is_not_a_template(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Parameters:\n  Count: {Type: Number}\n")

    with pytest.raises(TemplateError, match="not a CloudFormation template"):
        Template.load(path)


def test_short_form_tags_load_as_long_form(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(SNIPPET)

    document = load_document(path)

    queue = document["Resources"]["Queue"]["Properties"]["RedrivePolicy"]
    assert queue == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]},
        "maxReceiveCount": {"Ref": "Count"},
    }


def test_sub_list_form_select_and_split_resolve_the_bucket_name(snippet: Template) -> None:
    assert snippet.physical_name("Bucket") == "data-123456789012-local"


def test_sub_keeps_escaped_variables_literal_and_no_value_drops_items(snippet: Template) -> None:
    tags = snippet.properties("Bucket")["Tags"]

    assert tags == [{"Key": "literal", "Value": "${NotAVariable} in us-east-1"}]


def test_condition_true_keeps_the_if_branch(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(SNIPPET)
    template = Template.load(path, StackContext(parameter_overrides={"Env": "prod"}))

    assert {"Key": "prod", "Value": "yes"} in template.properties("Bucket")["Tags"]


def test_parameters_resolve_to_strings_like_cloudformation(snippet: Template) -> None:
    assert snippet.properties("Queue")["RedrivePolicy"]["maxReceiveCount"] == "3"


def test_queue_ref_is_its_url_on_the_local_endpoint_and_arn_names_it(snippet: Template) -> None:
    assert snippet.ref("Queue") == "http://127.0.0.1:4566/123456789012/ingestion-local-Queue"
    assert snippet.get_att("Queue", "Arn") == "arn:aws:sqs:us-east-1:123456789012:ingestion-local-Queue"
    assert snippet.outputs() == {"QueueUrl": "http://127.0.0.1:4566/123456789012/ingestion-local-Queue"}


def test_unknown_attribute_is_an_error_not_a_guess(snippet: Template) -> None:
    with pytest.raises(TemplateError, match=r"Queue\.Nonsense"):
        snippet.get_att("Queue", "Nonsense")


def test_function_properties_merge_globals_as_sam_does(snippet: Template) -> None:
    properties = snippet.function_properties("Function")

    assert properties["Timeout"] == 900
    assert properties["Layers"] == [{"Ref": "Shared"}, {"Ref": "Other"}]
    assert snippet.resolve(properties["Environment"]["Variables"]) == {
        "TABLE": "ingestion-local-Table",
        "LEVEL": "DEBUG",
        "QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:ingestion-local-Queue",
    }


def test_creation_order_puts_dependencies_first(snippet: Template) -> None:
    order = creation_order(snippet, ["Bucket", "Queue", "DeadLetters", "Table"])

    assert order.index("DeadLetters") < order.index("Queue") < order.index("Bucket")


def test_resources_that_refer_to_each_other_have_no_creation_order() -> None:
    document = {
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"Tags": [{"Value": {"Fn::GetAtt": "Topic.Arn"}}]},
            },
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"DisplayName": {"Fn::Sub": "${Queue}-topic"}},
            },
            "Table": {"Type": "AWS::DynamoDB::Table", "DependsOn": "Queue"},
        }
    }

    with pytest.raises(TemplateError, match="circular dependency through"):
        creation_order(Template(document, root=Path(".")))


def test_project_template_names_resources_like_the_sample_events() -> None:
    template = Template.load(PROJECT_TEMPLATE)

    outputs = template.outputs()

    assert outputs["DataBucketName"] == "ingestion-data-123456789012-local"
    assert outputs["GlueDatabaseName"] == "ingestion_local"
    assert outputs["TokensTableName"] == "ingestion-local-TokensTable"
    assert outputs["ApiUrl"] == "https://local00api.execute-api.us-east-1.amazonaws.com/v1"
