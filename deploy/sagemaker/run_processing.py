"""Compress every scene under an S3 prefix with a SageMaker Processing job.

The job runs the image built from ``deploy/Dockerfile`` (pushed to ECR) on GPU instances. Its
entrypoint compresses each scene found under ``/opt/ml/processing/input`` into
``/opt/ml/processing/output`` (same relative paths, ``.sog``) and writes
``summary-<host>.json`` beside them; SageMaker uploads that folder to ``--output``.

With ``--instance-count N`` the input objects are split across the N instances
(``ShardedByS3Key``): this is how a batch outgrows one machine. Each instance then sees a
shard of the *objects*, so keep every scene in one object (``.ply``, ``.compressed.ply``,
``.splat`` or ``.sog`` bundles; not SOG folders of WebP files).

Example (arguments after ``--`` go to ``splatpress batch``)::

    pip install -r deploy/sagemaker/requirements.txt   # the SDK v2: sagemaker>=2.250,<3
    python deploy/sagemaker/run_processing.py \\
        --image-uri 123456789012.dkr.ecr.eu-west-1.amazonaws.com/splatpress:latest \\
        --role arn:aws:iam::123456789012:role/SageMakerProcessing \\
        --input s3://my-bucket/trained-scenes/ --output s3://my-bucket/sog/ \\
        --instance-type ml.g4dn.xlarge --instance-count 4 --wait -- --seed 0

ml.g4dn (T4) and ml.g5 (A10G) hosts run NVIDIA driver 470 by default; splatpress's CUDA
kernels need R450 or newer, so no AMI override is needed.
"""

import argparse
import sys
from typing import List, Optional

INSTANCE_TYPES = ("ml.g4dn.xlarge", "ml.g4dn.2xlarge", "ml.g5.xlarge", "ml.g5.2xlarge")
INPUT = "/opt/ml/processing/input"
OUTPUT = "/opt/ml/processing/output"


def parse(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(
        description="Run splatpress batch as a SageMaker Processing job.",
        epilog="Arguments after -- are passed to `splatpress batch` (e.g. -- --seed 0 --sh-bands 2).",
    )
    parser.add_argument("--image-uri", required=True, help="ECR image built from deploy/Dockerfile")
    parser.add_argument("--role", required=True, help="IAM role ARN the job runs as")
    parser.add_argument("--input", required=True, help="S3 prefix holding the scenes")
    parser.add_argument("--output", required=True, help="S3 prefix for the .sog files and summaries")
    parser.add_argument("--instance-type", default="ml.g4dn.xlarge",
                        help=f"GPU instance type (tested kinds: {', '.join(INSTANCE_TYPES)})")
    parser.add_argument("--instance-count", type=int, default=1,
                        help="instances; the input objects are sharded across them")
    parser.add_argument("--volume-gb", type=int, default=100,
                        help="EBS volume per instance: it holds the shard's scenes and outputs")
    parser.add_argument("--max-runtime-hours", type=float, default=24.0)
    parser.add_argument("--wait", action="store_true", help="wait for the job and stream its logs")
    argv = sys.argv[1:] if argv is None else argv
    batch_args: List[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, batch_args = argv[:at], argv[at + 1:]
    args = parser.parse_args(argv)
    if args.instance_count < 1:
        parser.error("--instance-count must be at least 1")
    return args, batch_args


def run(args, batch_args: List[str], sagemaker_session=None):
    """Start the job that `parse` describes; return its ``ProcessingJob``.

    ``sagemaker_session`` is for tests and advanced use: a ``sagemaker.session.Session`` (for
    example one made on a chosen ``boto3.Session``, region or profile). Without it the SDK
    makes a default one from the environment's AWS configuration.
    """
    # Imported here so that `--help` works without the SDK installed.
    try:
        from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
    except ImportError as missing:
        # SDK v3 (`pip install sagemaker` today) has no sagemaker.processing module.
        raise ImportError(
            f"this script needs the SageMaker Python SDK v2 ({missing}): "
            "pip install -r deploy/sagemaker/requirements.txt"
        ) from missing

    processor = Processor(
        role=args.role,
        image_uri=args.image_uri,
        instance_count=args.instance_count,
        instance_type=args.instance_type,
        volume_size_in_gb=args.volume_gb,
        max_runtime_in_seconds=int(args.max_runtime_hours * 3600),
        base_job_name="splatpress",
        sagemaker_session=sagemaker_session,
    )
    processor.run(
        inputs=[
            ProcessingInput(
                source=args.input,
                destination=INPUT,
                s3_data_distribution_type="ShardedByS3Key",
            )
        ],
        outputs=[ProcessingOutput(source=OUTPUT, destination=args.output, s3_upload_mode="EndOfJob")],
        arguments=batch_args,
        wait=args.wait,
        logs=args.wait,
    )
    return processor.latest_job


if __name__ == "__main__":
    job = run(*parse())
    print(f"started {job.job_name}" if job is not None else "started")
