"""Runs one store operation in its own process (Metaflow binds its datastore settings at
import, so each configuration needs a process). Used by the store tests (store_scenarios.py);
the datastore is METAFLOW_DEFAULT_DATASTORE. Prints JSON on success.

    python store_driver.py publish  '<conda deps json>' [alias]   -> env id
    python store_driver.py resolve  '<conda deps json>'           -> env id + resolved_by
    python store_driver.py alias    <req_id> <full_id> <arch> <alias>
    python store_driver.py lookup   <alias>                        -> env id
    python store_driver.py hydrate  <req_id> <full_id> <arch> <prefix>
    python store_driver.py tools    <arch>                         -> {} (the node tools, published)
"""
import json
import sys

from metaflow_extensions.envs.plugins.envs.environments import Environments
from metaflow_extensions.envs.plugins.envs.errors import exit_on_user_error
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec
from metaflow_extensions.envs.plugins.envs.ids import EnvID, parse_alias
from metaflow_extensions.envs.plugins.envs.store.datastore import EnvStore


def _spec(deps_json: str) -> EnvSpec:
    return EnvSpec(conda_deps=tuple(CondaDep.parse(d) for d in json.loads(deps_json)))


@exit_on_user_error
def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    envs = Environments(store=EnvStore())
    if command == "publish":
        env = envs.resolve(_spec(args[0]))
        envs.publish(env)
        if len(args) > 1:
            envs.alias(env, parse_alias(args[1]))
        out = EnvID.of(env).to_dict()
    elif command == "resolve":
        env = envs.resolve(_spec(args[0]))
        out = dict(EnvID.of(env).to_dict(), resolved_by=env.resolved_by)
    elif command == "alias":
        envs.alias(envs.get(EnvID(*args[:3])), parse_alias(args[3]))
        out = {}
    elif command == "lookup":
        out = EnvID.of(envs.lookup(args[0])).to_dict()
    elif command == "hydrate":
        env = envs.get(EnvID(*args[:3]))
        out = {"prefix": str(envs.create(env, args[3]))}
    elif command == "tools":
        from metaflow_extensions.envs.plugins.envs.integration.tools import publish_tools

        publish_tools(envs, args[0])
        out = {}
    else:
        raise SystemExit("unknown command %s" % command)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
