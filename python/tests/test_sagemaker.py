"""Tests of deploy/sagemaker/run_processing.py against the real SageMaker Python SDK v2.

The job is never started: the SDK's real ``Processor`` builds the request and hands it to a
fake session (or to a real ``Session`` whose SageMaker client is a botocore ``Stubber``), and the
tests read that request. Nothing here reaches the network: opening a socket fails for the
duration of each SDK test, so do botocore API calls except the stubbed one, and the AWS
credentials are fake.

The argument parsing tests need no SDK. The others are skipped when the SDK v2 cannot be
imported (``pip install -r deploy/sagemaker/requirements.txt``), unless
SPLATPRESS_REQUIRE_SAGEMAKER=1, which makes its absence an error.
"""

import importlib.util
import os
import socket
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The SDK v2 warns on import that v3 exists; the script deliberately targets v2.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
try:
    import sagemaker
    # SDK v3 is a different package layout (sagemaker.core.processing, ...): the script needs v2.
    from sagemaker.processing import Processor as _Processor  # noqa: F401
except ImportError as missing:
    if os.environ.get("SPLATPRESS_REQUIRE_SAGEMAKER") == "1":
        raise ImportError("SPLATPRESS_REQUIRE_SAGEMAKER=1 but the SageMaker Python SDK v2 cannot "
                          f"be imported: {missing}") from missing
    sagemaker = None
    SDK_MISSING = (f"the SageMaker Python SDK v2 is not importable ({missing}); pip install -r "
                   "deploy/sagemaker/requirements.txt to run these tests")

needs_sdk = pytest.mark.skipif(sagemaker is None, reason=SDK_MISSING if sagemaker is None else "")

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/splatpress:test"
ROLE = "arn:aws:iam::123456789012:role/SageMakerProcessing"
INPUT_S3 = "s3://scenes-bucket/trained/"
OUTPUT_S3 = "s3://scenes-bucket/sog/"
BATCH_ARGS = ["--seed", "0", "--sh-bands", "2"]


def load_script():
    """deploy/sagemaker/run_processing.py, imported by path (deploy/ is not a package)."""
    path = ROOT / "deploy" / "sagemaker" / "run_processing.py"
    spec = importlib.util.spec_from_file_location("run_processing", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run_processing = load_script()


def job_argv(*extra):
    return ["--image-uri", IMAGE, "--role", ROLE, "--input", INPUT_S3, "--output", OUTPUT_S3,
            *extra]


# --- argument parsing (no SDK needed) ---------------------------------------------------------

def test_parse_splits_batch_arguments_after_double_dash():
    args, batch = run_processing.parse(job_argv("--instance-count", "3", "--", *BATCH_ARGS))
    assert batch == BATCH_ARGS
    assert args.instance_count == 3
    assert (args.image_uri, args.role, args.input, args.output) == (IMAGE, ROLE, INPUT_S3,
                                                                    OUTPUT_S3)
    # Defaults.
    assert args.instance_type == "ml.g4dn.xlarge"
    assert (args.volume_gb, args.max_runtime_hours, args.wait) == (100, 24.0, False)


def test_parse_passes_everything_after_the_first_double_dash_through():
    # Batch options that look like the script's own go to the container untouched.
    _, batch = run_processing.parse(job_argv("--", "--instance-count", "0", "--", "x"))
    assert batch == ["--instance-count", "0", "--", "x"]
    _, batch = run_processing.parse(job_argv())
    assert batch == []


@pytest.mark.parametrize("count", ["0", "-2"])
def test_parse_rejects_fewer_than_one_instance(count, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_processing.parse(job_argv("--instance-count", count))
    assert exit_info.value.code == 2
    assert "--instance-count must be at least 1" in capsys.readouterr().err


def test_parse_requires_the_job_arguments(capsys):
    with pytest.raises(SystemExit):
        run_processing.parse(["--image-uri", IMAGE, "--", *BATCH_ARGS])
    assert "required" in capsys.readouterr().err


# --- the request the real SDK builds ----------------------------------------------------------

@pytest.fixture
def offline(monkeypatch):
    """Fake AWS settings, and any network access made to fail loudly."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                 "SAGEMAKER_USER_CONFIG_OVERRIDE", "SAGEMAKER_ADMIN_CONFIG_OVERRIDE"):
        monkeypatch.delenv(name, raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)


@pytest.fixture
def no_aws_calls(monkeypatch):
    """Any botocore API call fails (the Stubber test leaves this out: its stub answers)."""
    import botocore.client

    def no_aws_call(self, operation, params):
        raise AssertionError(f"real AWS call attempted: {operation}")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", no_aws_call)


def fake_session():
    """A stand-in for ``sagemaker.session.Session``, with the attributes the SDK reads set.

    Autospecced, so ``process(**kwargs)`` is checked against the real ``Session.process``
    signature.
    """
    from sagemaker.session import Session

    session = mock.create_autospec(Session, instance=True)
    session.sagemaker_config = None  # no SDK defaults config
    session.local_mode = False
    session.default_bucket_prefix = None
    session.default_bucket.return_value = "sagemaker-us-east-1-123456789012"
    session.boto_region_name = "us-east-1"
    session.expand_role.side_effect = lambda role: role  # as the real one does for an ARN
    return session


def no_default_session(monkeypatch):
    """Make the SDK's fallback ``Session()`` fail, so the fake one must be the one used."""
    import sagemaker.session

    def refuse(*args, **kwargs):
        raise AssertionError("the SDK made its own Session: the script ignored sagemaker_session")

    monkeypatch.setattr(sagemaker.session.Session, "__init__", refuse)


def assert_splatpress_request(request, batch_args, count, instance_type, volume_gb, runtime_s):
    """Checks a CreateProcessingJob-shaped request (Session.process kwargs or the API's params).

    ``request`` maps the process() keyword names (snake case) to their values.
    """
    assert request["job_name"].startswith("splatpress-")
    assert len(request["job_name"]) <= 63
    assert request["role_arn"] == ROLE
    assert request["app_specification"] == {"ImageUri": IMAGE, "ContainerArguments": batch_args}
    assert request["resources"] == {"ClusterConfig": {
        "InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": volume_gb}}
    assert request["stopping_condition"] == {"MaxRuntimeInSeconds": runtime_s}

    [job_input] = request["inputs"]
    s3_input = job_input["S3Input"]
    assert s3_input["S3Uri"] == INPUT_S3
    assert s3_input["LocalPath"] == "/opt/ml/processing/input"
    assert s3_input["S3DataDistributionType"] == "ShardedByS3Key"
    assert s3_input["S3DataType"] == "S3Prefix"
    assert s3_input["S3InputMode"] == "File"
    assert job_input["AppManaged"] is False

    [job_output] = request["output_config"]["Outputs"]
    assert job_output["S3Output"] == {"S3Uri": OUTPUT_S3, "LocalPath": "/opt/ml/processing/output",
                                      "S3UploadMode": "EndOfJob"}
    assert job_output["AppManaged"] is False


@needs_sdk
def test_run_builds_the_processing_request(offline, no_aws_calls, monkeypatch):
    no_default_session(monkeypatch)
    session = fake_session()
    args, batch = run_processing.parse(job_argv(
        "--instance-type", "ml.g4dn.xlarge", "--instance-count", "3", "--volume-gb", "250",
        "--max-runtime-hours", "1.5", "--", *BATCH_ARGS))

    job = run_processing.run(args, batch, sagemaker_session=session)

    session.process.assert_called_once()
    request = session.process.call_args.kwargs
    assert session.process.call_args.args == ()
    assert_splatpress_request(request, BATCH_ARGS, count=3, instance_type="ml.g4dn.xlarge",
                              volume_gb=250, runtime_s=5400)
    assert request["environment"] is None
    assert request["network_config"] is None
    assert request["experiment_config"] is None
    # The returned job is the one the request named; without --wait nothing waits on it.
    assert job.job_name == request["job_name"]
    session.logs_for_processing_job.assert_not_called()
    session.wait_for_processing_job.assert_not_called()
    # The scenes come from S3 as they are: the SDK uploaded nothing.
    session.upload_data.assert_not_called()


@needs_sdk
def test_run_with_wait_streams_the_job_logs(offline, no_aws_calls, monkeypatch):
    no_default_session(monkeypatch)
    session = fake_session()
    args, batch = run_processing.parse(job_argv("--instance-type", "ml.g5.xlarge", "--wait"))

    job = run_processing.run(args, batch, sagemaker_session=session)

    request = session.process.call_args.kwargs
    # Without batch arguments the container gets an empty argument list.
    assert_splatpress_request(request, [], count=1, instance_type="ml.g5.xlarge", volume_gb=100,
                              runtime_s=24 * 3600)
    session.logs_for_processing_job.assert_called_once_with(job.job_name, wait=True)


@needs_sdk
def test_request_is_valid_for_the_sagemaker_api(offline):
    """A real Session turns the request into CreateProcessingJob, checked by botocore's model."""
    import boto3
    from botocore.stub import Stubber
    from sagemaker.session import Session

    boto_session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing",
                                 aws_secret_access_key="testing", aws_session_token="testing")
    client = boto_session.client("sagemaker")
    sent = []
    client.meta.events.register("before-parameter-build.sagemaker.CreateProcessingJob",
                                lambda params, **kwargs: sent.append(dict(params)))
    stubber = Stubber(client)
    stubber.add_response(
        "create_processing_job",
        {"ProcessingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/x"})
    session = Session(boto_session=boto_session, sagemaker_client=client,
                      sagemaker_config={"SchemaVersion": "1.0"})
    args, batch = run_processing.parse(job_argv("--instance-count", "3", "--", *BATCH_ARGS))

    with stubber:  # botocore validates the parameters against the API model before the stub
        run_processing.run(args, batch, sagemaker_session=session)
    stubber.assert_no_pending_responses()

    [params] = sent
    request = SimpleNamespace(**params)
    assert request.ProcessingJobName.startswith("splatpress-")
    assert request.RoleArn == ROLE
    assert request.AppSpecification == {"ImageUri": IMAGE, "ContainerArguments": BATCH_ARGS}
    assert request.ProcessingResources == {"ClusterConfig": {
        "InstanceType": "ml.g4dn.xlarge", "InstanceCount": 3, "VolumeSizeInGB": 100}}
    assert request.StoppingCondition == {"MaxRuntimeInSeconds": 24 * 3600}
    [job_input] = request.ProcessingInputs
    assert job_input["S3Input"]["S3Uri"] == INPUT_S3
    assert job_input["S3Input"]["LocalPath"] == "/opt/ml/processing/input"
    assert job_input["S3Input"]["S3DataDistributionType"] == "ShardedByS3Key"
    [job_output] = request.ProcessingOutputConfig["Outputs"]
    assert job_output["S3Output"] == {"S3Uri": OUTPUT_S3, "LocalPath": "/opt/ml/processing/output",
                                      "S3UploadMode": "EndOfJob"}
