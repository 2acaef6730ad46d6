"""AWS credentials and region for a real deploy, as boto3 finds them; never calls AWS."""

from __future__ import annotations

import json

from .machine import Machine
from .result import Result

AWS_PROBE = """\
import json, os, boto3
s = boto3.Session()
c = s.get_credentials()
print(json.dumps({"credentials": c is not None and bool(c.access_key),
                  "method": getattr(c, "method", None),
                  "region": os.environ.get("AWS_REGION") or s.region_name}))
"""


def check_aws(m: Machine) -> list[Result]:
    goals = ("deploy",)
    python = m.repo / ".venv" / "bin" / "python"
    if not python.exists():
        fix = "make venv, then run make doctor again"
        return [Result("AWS credentials", goals, False, "boto3 not installed yet", fix)]
    # No network: the instance metadata endpoint is not probed, and nothing calls AWS.
    env = {**m.env, "AWS_EC2_METADATA_DISABLED": "true"}
    result = m.run([str(python), "-c", AWS_PROBE], env)
    try:
        answer = json.loads(result.stdout) if result is not None else {}
    except ValueError:
        answer = {}
    if not answer:
        detail = "could not ask boto3" + (f": {result.stderr.strip()[-120:]}" if result else "")
        return [Result("AWS credentials", goals, False, detail, "check ~/.aws/config")]
    results = []
    if answer.get("credentials"):
        results.append(
            Result(
                "AWS credentials",
                goals,
                True,
                f"found ({answer.get('method')}); not validated: `aws sts get-caller-identity`",
            )
        )
    else:
        results.append(
            Result(
                "AWS credentials",
                goals,
                False,
                "none found",
                "aws sso login (or aws configure), or export AWS_PROFILE",
            )
        )
    if answer.get("region"):
        results.append(Result("AWS region", goals, True, str(answer["region"])))
    else:
        fix = "export AWS_REGION=us-east-1 (or set region in ~/.aws/config)"
        results.append(Result("AWS region", goals, False, "none set", fix))
    return results
