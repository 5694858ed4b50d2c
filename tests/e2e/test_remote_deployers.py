"""Step Functions and Airflow get the bare-node test Argo gets (test_remote_node.py): the real
container command each scheduler's compiler emits for a step with an environment, run on a
simulated bare node (only the code package and the datastore; an image with its own PYTHONPATH
and LD_LIBRARY_PATH).

1. tests/e2e/flows/remote_deploy_flow.py (no compute decorator: Step Functions runs every step
   on AWS Batch, Airflow on Kubernetes) is compiled twice, sharing one launcher cache:
   `step-functions create --only-json` prints the state machine, `airflow create dag.py` writes
   the DAG file. Both resolve and publish with our init_environment, like a real deployment.
   Step Functions' compiler calls AWS itself while compiling: it looks for an existing state
   machine and registers the Batch job definition. No AWS exists here, so a small fake of
   those few control-plane calls answers on 127.0.0.1 (FakeAwsControlPlane); its IAM roles and
   job queue are dummy values (METAFLOW_SFN_IAM_ROLE, METAFLOW_ECS_S3_ACCESS_IAM_ROLE,
   METAFLOW_BATCH_JOB_QUEUE), which nothing checks offline.
2. The channel server and the fake are stopped: only the datastore is left.
3. The `start` container runs on a node: for Step Functions the Batch job's command and its
   environment (Batch sets AWS_BATCH_JOB_ID, AWS_BATCH_JOB_ATTEMPT and the like, the state
   machine the execution name); for Airflow the KubernetesPodOperator's `cmds` and `env_vars` from the DAG
   file's CONFIG (and the downward-API variables the DAG file adds), its Jinja placeholders
   filled in as Airflow renders them; the pod's /airflow/xcom is made on this machine if need be.
"""
import ast
import json
import os
import re
import secrets
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict

import pytest

from tests.fixtures.servers import StaticFileServer

from .test_remote_node import BOOTSTRAP, FIELD_REFS, node_dirs, node_image, run_node_script

pytestmark = pytest.mark.network  # PyPI: six (and Metaflow's boto3/requests) + the node tools

FLOW = Path(__file__).with_name("flows") / "remote_deploy_flow.py"
ACCOUNT = "123456789012"
XCOM_DIR = Path("/airflow/xcom")  # where Airflow's KubernetesPodOperator reads a pod's xcom


class FakeAwsControlPlane(BaseHTTPRequestHandler):
    """What `step-functions create --only-json` asks AWS while compiling, answered as AWS would
    for an account with one job queue and no state machine yet."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target") or ""  # the Step Functions API (JSON 1.0)
        if target.endswith(".ListStateMachines"):
            answer: Dict[str, Any] = {"stateMachines": []}
        elif self.path.endswith("/describejobqueues"):  # the Batch API (REST)
            answer = {"jobQueues": [{"jobQueueName": "queue", "state": "ENABLED", "priority": 1,
                                     "jobQueueArn": "arn:aws:batch:us-east-1:%s:job-queue/queue" % ACCOUNT,
                                     "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "ce"}]}]}
        elif self.path.endswith("/describecomputeenvironments"):
            answer = {"computeEnvironments": [{"computeEnvironmentName": "ce", "computeResources": {"type": "EC2"},
                                               "computeEnvironmentArn": "arn:aws:batch:us-east-1:%s:"
                                                                        "compute-environment/ce" % ACCOUNT}]}
        elif self.path.endswith("/describejobdefinitions"):
            answer = {"jobDefinitions": []}
        elif self.path.endswith("/registerjobdefinition"):
            answer = {"jobDefinitionName": "metaflow", "revision": 1,
                      "jobDefinitionArn": "arn:aws:batch:us-east-1:%s:job-definition/metaflow:1" % ACCOUNT}
        else:
            self.send_error(400, "not faked: %s %s" % (target, self.path))
            return
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0" if target else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def deployments(s3_server, conda_channels_dir, tmp_path_factory):
    launcher = tmp_path_factory.mktemp("launcher")
    prefix = "tests/remote-deployers-%s" % secrets.token_hex(4)
    channel = StaticFileServer(conda_channels_dir).start()
    aws = ThreadingHTTPServer(("127.0.0.1", 0), FakeAwsControlPlane)
    threading.Thread(target=aws.serve_forever, daemon=True).start()
    aws_url = "http://127.0.0.1:%d" % aws.server_address[1]
    try:
        env = s3_server.subprocess_env(prefix)
        env.update({
            "METAFLOW_CONDA_CHANNEL_ALIAS": channel.url + "/",
            "METAFLOW_CONDA_CHANNELS": "conda-forge",
            "METAFLOW_CONDA_CACHE_DIR": str(launcher / "cache"),
            "METAFLOW_HOME": str(launcher / "home"),  # no ~/.metaflowconfig profile
            "USERNAME": "tester",
            # Dummy AWS settings Step Functions' compiler requires (nothing checks them offline).
            "METAFLOW_SFN_IAM_ROLE": "arn:aws:iam::%s:role/sfn" % ACCOUNT,
            "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": "arn:aws:iam::%s:role/batch" % ACCOUNT,
            "METAFLOW_BATCH_JOB_QUEUE": "queue",
            "AWS_ENDPOINT_URL_BATCH": aws_url, "AWS_ENDPOINT_URL_SFN": aws_url,
            "METAFLOW_KUBERNETES_NAMESPACE": "default",
        })
        compiled = {}
        for name, args in (("sfn", ["step-functions", "create", "--only-json"]),
                           ("airflow", ["airflow", "create", str(launcher / "dag.py")])):
            proc = subprocess.run([sys.executable, str(FLOW), "--no-pylint", "--environment=conda", "--datastore=s3",
                                   *args], cwd=str(launcher), env=env, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            compiled[name] = proc
        assert channel.requests, "the launcher resolved without the channel?"
    finally:
        channel.stop()
        aws.shutdown()
        aws.server_close()
    sfn = compiled["sfn"].stdout
    dag = (launcher / "dag.py").read_text()
    config = next(ast.literal_eval(node.value) for node in ast.parse(dag).body if isinstance(node, ast.Assign)
                  and any(getattr(t, "id", None) == "CONFIG" for t in node.targets))
    # The pod's downward-API variables, which the DAG file adds to every operator in code.
    field_refs = dict(re.findall(r'"(METAFLOW_KUBERNETES_\w+)": "([\w.]+)"', dag))
    assert "METAFLOW_KUBERNETES_POD_NAME" in field_refs, "the DAG file adds no downward-API variables any more?"
    return {"prefix": prefix, "state_machine": json.loads(sfn[sfn.index("{"):]), "dag": config,
            "dag_field_refs": field_refs}


def _probe(proc) -> Dict[str, Any]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fetching tools for linux-64" in proc.stderr  # a cold node, hydrated by our bootstrap
    return json.loads(re.search(r"^REMOTE-NODE-PROBE (.*)$", proc.stdout, re.M).group(1))


def _check_probe(probe: Dict[str, Any], dirs: Dict[str, Path]) -> None:
    assert probe["executable"] == str(dirs["work"] / "metaflow" / "metaflow_envs" / "start" / "bin" / "python")
    assert probe["tinyutil"] == "1.1.0"
    assert probe["six"] != "0.0-from-the-image"  # the environment's, not the image's


def test_step_functions_batch_job_runs_in_its_environment_on_a_bare_node(deployments, s3_server, node_python,
                                                                         tmp_path):
    state = deployments["state_machine"]["States"]["start"]
    overrides = state["Parameters"]["ContainerOverrides"]
    command = overrides["Command"]
    assert command[:2] == ["bash", "-c"] and BOOTSTRAP in command[2]
    variables = {}
    for var in overrides["Environment"]:
        if "Value.$" in var:  # filled in by the state machine when it runs
            assert var == {"Name": "METAFLOW_RUN_ID", "Value.$": "$$.Execution.Name"}, var
            variables["METAFLOW_RUN_ID"] = "execution-1"
        else:
            variables[var["Name"]] = var["Value"]
    # What AWS Batch sets in every container of a job.
    variables.update(AWS_BATCH_JOB_ID="job-1", AWS_BATCH_JOB_ATTEMPT="1", AWS_BATCH_CE_NAME="ce",
                     AWS_BATCH_JQ_NAME="queue", AWS_EXECUTION_ENV="AWS_ECS_EC2")
    dirs = node_dirs(tmp_path / "node")
    proc = run_node_script(command[2], variables, deployments["prefix"], s3_server, node_python, dirs,
                           node_image(tmp_path / "image"))
    _check_probe(_probe(proc), dirs)


# Airflow's templates in the DAG's commands and variables, as a run renders them.
AIRFLOW_VALUES = {
    "[run_id, dag_run.dag_id] | run_id_creator": "run-1",
    "[run_id, ti.task_id, dag_run.dag_id] | task_id_creator": "task-1",
    "task_instance.try_number - 1": "0",
    "run_id": "manual__2026-01-01",
    "ti.job_id": "1",
}


def _render(text: str) -> str:
    return re.sub(r"\{\{\s*(.*?)\s*\}\}", lambda m: AIRFLOW_VALUES[m.group(1)], text)


@pytest.fixture
def xcom_dir():
    """Airflow's pod writes its xcom to /airflow/xcom (metaflow's airflow_internal decorator);
    made here when this machine has none, and removed afterwards (only what was made here)."""
    made = [p for p in (XCOM_DIR.parent, XCOM_DIR) if not p.exists()]
    try:
        XCOM_DIR.mkdir(parents=True, exist_ok=True)
    except OSError:
        pytest.skip("needs a writable %s for Airflow's xcom" % XCOM_DIR)
    before = set(XCOM_DIR.iterdir())
    try:
        yield XCOM_DIR
    finally:
        for path in set(XCOM_DIR.iterdir()) - before:
            path.unlink()
        for path in reversed(made):
            path.rmdir()


def test_airflow_pod_runs_in_its_environment_on_a_bare_node(deployments, s3_server, node_python, tmp_path, xcom_dir):
    args = deployments["dag"]["states"]["start"]["operator_args"]
    assert args["cmds"][:2] == ["bash", "-c"] and BOOTSTRAP in args["cmds"][2]
    script = _render(args["cmds"][2])
    variables = {var["name"]: _render(var["value"]) for var in args["env_vars"]}
    variables.update({name: FIELD_REFS[path] for name, path in deployments["dag_field_refs"].items()})  # the kubelet
    dirs = node_dirs(tmp_path / "node")
    proc = run_node_script(script, variables, deployments["prefix"], s3_server, node_python, dirs,
                           node_image(tmp_path / "image"))
    _check_probe(_probe(proc), dirs)
    assert json.loads((xcom_dir / "return.json").read_text())["metaflow_task_id"] == "airflow-task-1"
