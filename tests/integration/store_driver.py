"""Runs one store operation in its own process (Metaflow binds its S3 settings at import,
so each configuration needs a process). Used by test_store_s3.py; prints JSON on success.

    python store_driver.py publish  '<conda deps json>' [alias]
    python store_driver.py hydrate  <req_id> <full_id> <arch> <prefix>
"""
import json
import sys

from metaflow_extensions.envs.plugins.envs.environments import Environments
from metaflow_extensions.envs.plugins.envs.errors import exit_on_user_error
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec
from metaflow_extensions.envs.plugins.envs.ids import EnvID, parse_alias
from metaflow_extensions.envs.plugins.envs.store.datastore import EnvStore


@exit_on_user_error
def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    envs = Environments(store=EnvStore("s3"))
    if command == "publish":
        spec = EnvSpec(conda_deps=tuple(CondaDep.parse(d) for d in json.loads(args[0])))
        env = envs.resolve(spec)
        envs.publish(env)
        if len(args) > 1:
            envs.alias(env, parse_alias(args[1]))
        print(json.dumps(EnvID.of(env).to_dict()))
    elif command == "hydrate":
        env = envs.get(EnvID(args[0], args[1], args[2]))
        print(json.dumps({"prefix": str(envs.create(env, args[3]))}))
    else:
        raise SystemExit("unknown command %s" % command)


if __name__ == "__main__":
    main()
