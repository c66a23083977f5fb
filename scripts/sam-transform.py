"""Prints the SAM transform's output (CloudFormation JSON) for template.yaml,
offline, with the translator SAM CLI bundles (`samtranslator`, in .venv-sam).

Usage: .venv-sam/bin/python scripts/sam-transform.py TEMPLATE [Name=Value ...]

SAM_TRANSFORM_NOW=<unix seconds> fixes the clock the transform reads: with
`AlwaysDeploy` SAM names the deployment after int(time.time()), so two runs
within one second would otherwise get the same deployment id.

The parameter values are what CloudFormation would hand the transform; the
tests use it to read what SAM generates (stages, deployments). No AWS call:
the template names no managed policies, so the policy loader is never asked.
"""

import json
import os
import sys
import time

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    def load(self):
        return {}


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # What `sam package` does before CloudFormation sees the template: local
    # code paths become S3 locations (the transform accepts only those).
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://artifacts/code.zip"
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.get("Properties", {}).pop("CodeUri", None)
    params = {}
    for arg in argv[2:]:
        name, sep, value = arg.partition("=")
        if not sep:
            sys.exit(f"not Name=Value: {arg}")
        params[name] = value
    # Pseudo parameters as CloudFormation passes them.
    params.setdefault("AWS::Region", "us-east-1")
    params.setdefault("AWS::AccountId", "123456789012")
    params.setdefault("AWS::Partition", "aws")
    params.setdefault("AWS::StackName", "notes")
    params.setdefault("AWS::StackId", "arn:aws:cloudformation:us-east-1:123456789012:stack/notes/0c5a1d10-0000-4000-8000-000000000000")
    # The translator asks boto3 for the region; nothing is sent anywhere.
    os.environ["AWS_DEFAULT_REGION"] = params["AWS::Region"]
    now = os.environ.get("SAM_TRANSFORM_NOW")
    if now is not None:
        time.time = lambda: float(now)
    out = transform(template, params, NoManagedPolicies())
    json.dump(out, sys.stdout, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    main(sys.argv)
