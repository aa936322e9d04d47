#!/usr/bin/env python3
"""Deploy rehearsal: template.yaml as `sam package` and CloudFormation would
take it, on moto's CloudFormation (MOTO_ENDPOINT, started by
scripts/local-services.sh). There is no AWS account here, so this is as far
as the deploy can be exercised:

1. translate the SAM template with the SAM translator (it ships with
   cfn-lint), the code and the nested alarms template put in moto's S3 as
   `sam package` would;
2. create the stack on moto: every Ref, GetAtt, Sub, condition and IAM policy
   document among the resource types moto creates is resolved for real (a
   broken one fails the create; step 5 proves it);
3. list the types moto skips and lint the translated template with cfn-lint,
   whose rules check every resource's properties against the CloudFormation
   resource schemas, so the skipped ones are checked too;
4. check the nested alarms stack was created (moto makes no CloudWatch
   alarms from templates: cfn-lint and a Go test check them);
5. break one reference and expect the create to fail.

Exits non-zero on any failure; scripts/test.sh runs it.
"""
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
import boto3  # noqa: E402  (moto's server brings boto3)
from cfnlint.decode import decode_str  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
kw = dict(endpoint_url=os.environ["MOTO_ENDPOINT"], region_name="us-east-1",
          aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal")
s3, cfn, cw = boto3.client("s3", **kw), boto3.client("cloudformation", **kw), boto3.client("cloudwatch", **kw)
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def read(path):
    tpl, matches = decode_str(open(os.path.join(root, path)).read())
    if tpl is None:
        sys.exit(f"{path} does not parse: {matches}")
    return tpl


# 1. What `sam package` uploads, and the translation.
name = "rehearsal-%d" % int(time.time() * 1000)
bucket = name + "-artifacts"
s3.create_bucket(Bucket=bucket)
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("bootstrap", "#!/bin/sh\n")
tpl = read("template.yaml")
for logical, r in tpl["Resources"].items():
    if r["Type"] == "AWS::Serverless::Function":
        s3.put_object(Bucket=bucket, Key=logical + ".zip", Body=code.getvalue())
        r["Properties"]["CodeUri"] = f"s3://{bucket}/{logical}.zip"
alarms = read("infra/alarms.yaml")
s3.put_object(Bucket=bucket, Key="alarms.json", Body=json.dumps(alarms))
tpl["Resources"]["Alarms"]["Properties"]["Location"] = f"https://s3.amazonaws.com/{bucket}/alarms.json"


class NoManagedPolicies:
    def load(self):
        return {}  # the template names no AWS managed policies by name


translated = transform(tpl, {}, NoManagedPolicies())
types = sorted({r["Type"] for r in translated["Resources"].values()})
print(f"translated: {len(translated['Resources'])} resources of {len(types)} types")

# moto's CloudFormation has no model of some types, and a GetAtt of one fails
# its create outright: those attributes become placeholders on moto (the
# resource must exist: a GetAtt of a missing one still fails), and are
# resolved only in AWS; cfn-lint checks the untouched translation below.
NO_MOTO_MODEL = {"AWS::Lambda::Url"}
stand_ins = []


def stand_in_getatts(node):
    if isinstance(node, dict):
        ga = node.get("Fn::GetAtt")
        if isinstance(ga, list) and len(node) == 1 and translated["Resources"].get(ga[0], {}).get("Type") in NO_MOTO_MODEL:
            stand_ins.append(".".join(ga))
            return f"https://{ga[0].lower()}.rehearsal.invalid/"
        sub = node.get("Fn::Sub")
        if len(node) == 1 and sub is not None:  # ${X.Attr} in a Sub is a GetAtt too
            text = sub if isinstance(sub, str) else sub[0]

            def repl(m):
                if translated["Resources"].get(m.group(1), {}).get("Type") not in NO_MOTO_MODEL:
                    return m.group(0)
                stand_ins.append(m.group(1) + "." + m.group(2))
                return f"https://{m.group(1).lower()}.rehearsal.invalid/"
            text = re.sub(r"\$\{([A-Za-z0-9]+)\.([A-Za-z0-9.]+)\}", repl, text)
            return {"Fn::Sub": text if isinstance(sub, str) else [text, stand_in_getatts(sub[1])]}
        return {k: stand_in_getatts(v) for k, v in node.items()}
    if isinstance(node, list):
        return [stand_in_getatts(v) for v in node]
    return node


on_moto = stand_in_getatts(translated)
print("attributes moto cannot model, placeholders on moto (resolved only in AWS):", ", ".join(sorted(set(stand_ins))) or "none")

# 2. The stack on moto, with the parameters a first `sam deploy --guided` asks for.
# (a customer KMS key too, so that the conditional kms:Decrypt statements are
# made; cfn-lint covers the template without it)
params = [{"ParameterKey": "RoutingConfigParam", "ParameterValue": "/switchboard/routing-config"},
          {"ParameterKey": "SecretsKmsKeyArn", "ParameterValue": "arn:aws:kms:us-east-1:123456789012:key/0b7c52c2-6d44-4c1e-9d8e-4b8f3b1f6a10"}]
cfn.create_stack(StackName=name, TemplateBody=json.dumps(on_moto), Parameters=params,
                 Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
print("stack:", stack["StackStatus"])
if stack["StackStatus"] != "CREATE_COMPLETE":
    fail(f"stack {stack['StackStatus']}: {stack.get('StackStatusReason')}")

# The customer key's conditional statement reached the functions' roles.
iam = boto3.client("iam", **kw)
role = next(r for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"] if r["LogicalResourceId"] == "NotifierFunctionRole")
policies = iam.list_role_policies(RoleName=role["PhysicalResourceId"])["PolicyNames"]
granted = json.dumps([iam.get_role_policy(RoleName=role["PhysicalResourceId"], PolicyName=p)["PolicyDocument"] for p in policies])
if "kms:Decrypt" not in granted or "kms:ViaService" not in granted:
    fail("with SecretsKmsKeyArn set, the notifier's role has no kms:Decrypt through SSM")

# 3. What moto made, what it skipped, and the schemas for the rest.
made = {r["ResourceType"] for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]}
skipped = sorted(set(types) - made)
print("created by moto:", ", ".join(sorted(t for t in made if t)))
print("skipped by moto (checked against the resource schemas by cfn-lint):", ", ".join(skipped))
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(translated, f)
lint = subprocess.run(["cfn-lint", "--format", "parseable", f.name], capture_output=True, text=True)
if lint.returncode & 3:  # cfn-lint's exit bits: 1 a failure to run or parse, 2 an error (4, 8: warnings, informational)
    fail("cfn-lint on the translated template:\n" + lint.stdout + lint.stderr)
unresolved = [o["OutputKey"] for o in stack.get("Outputs", []) if "${" in o["OutputValue"]]
print("outputs that name skipped resources (resolved only in AWS):", ", ".join(unresolved) or "none")

# 4. The nested alarms stack: created, its parameters resolved. moto makes no
# CloudWatch alarms from a template (it lists them untyped), so the alarms
# themselves are checked by cfn-lint and TestEveryFunctionAndQueueIsAlarmed.
nested = [r for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"] if r["LogicalResourceId"] == "Alarms"]
if not nested or nested[0]["ResourceStatus"] != "CREATE_COMPLETE":
    fail(f"the nested alarms stack: {nested}")
want = sum(1 for r in alarms["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
made_alarms = len(cw.describe_alarms(MaxRecords=100)["MetricAlarms"])
print(f"alarms: the nested stack was created; moto made {made_alarms} of its {want} CloudWatch alarms (it does not make them from templates)")

# 5. A broken reference fails the create.
broken = json.loads(json.dumps(on_moto))
broken["Resources"]["NotifierFunction"]["Properties"]["Environment"]["Variables"]["NOTIFY_QUEUE_URL"] = {"Ref": "NoSuchQueue"}
try:
    cfn.create_stack(StackName=name + "-broken", TemplateBody=json.dumps(broken), Parameters=params,
                     Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    status = cfn.describe_stacks(StackName=name + "-broken")["Stacks"][0]["StackStatus"]
    if status == "CREATE_COMPLETE":
        fail("a stack with a Ref to a resource that does not exist was created")
    else:
        print("broken reference: the create ended", status)
except Exception as e:  # moto refuses it outright
    print("broken reference: refused,", type(e).__name__)

# Not deleted: the table's deletion protection refuses it, as in AWS (the
# README's teardown turns it off first); moto is thrown away after the run.
if failures:
    sys.exit(f"deploy rehearsal: {len(failures)} failure(s)")
print("deploy rehearsal passed")
