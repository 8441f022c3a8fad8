#!/bin/sh
# The SageMaker Processing contract: SageMaker copies each ProcessingInput under
# /opt/ml/processing/input/..., runs this with the job's arguments, and uploads
# /opt/ml/processing/output when it ends. Every scene under the input folder is compressed to
# the same relative path under the output folder, with the batch summary beside them:
# summary-<host>.json on SageMaker (each instance of a sharded job writes its own, all into
# one S3 prefix), summary.json elsewhere.
#
# Arguments are `splatpress batch` options (`--seed 7 --sh-bands 2 --resume`; see
# `splatpress batch --help`). Exit status: 0 when every scene was compressed, 1 when any
# failed (the job is then marked failed; the summary says which and why), 2 bad arguments.
#
# SPLATPRESS_PROCESSING_ROOT replaces /opt/ml/processing (tests on a local folder laid out
# the same way); SPLATPRESS names the binary.
set -eu
root="${SPLATPRESS_PROCESSING_ROOT:-/opt/ml/processing}"
if [ ! -d "$root/input" ]; then
    echo "splatpress-processing: no input folder $root/input: give the job a ProcessingInput" \
        "whose destination is $root/input (or a folder under it)" >&2
    exit 1
fi
mkdir -p "$root/output"

# SageMaker names each instance of a job in /opt/ml/config/resourceconfig.json ("algo-1", ...).
host=""
config="$root/../config/resourceconfig.json"
if [ -f "$config" ]; then
    host=$(tr -d '\n' < "$config" | sed -n 's/.*"current_host"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
fi

status=0
"${SPLATPRESS:-splatpress}" batch "$root/input" "$root/output" "$@" || status=$?
if [ -n "$host" ] && [ -f "$root/output/summary.json" ]; then
    mv "$root/output/summary.json" "$root/output/summary-$host.json"
fi
exit "$status"
