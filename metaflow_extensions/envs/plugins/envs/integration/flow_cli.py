"""`python flow.py --environment=conda environment resolve|show [STEP...]`: the environments
of a flow's steps, resolved (or reused) exactly as `run` would, without running anything.

Thin: the flow's CondaEnvironment does the work (init_environment resolves every requested
step in parallel); this module checks the arguments and prints the results.
"""
import sys

from metaflow._vendor import click

from . import step_results as _results
from .environment import CondaEnvironment


@click.group()
def cli():
    pass


@cli.group(help="Resolve and show the environments of this flow's steps (with --environment=conda or "
           "--environment=pypi).\n\nExamples:\n\n\b\n"
           "    python flow.py --environment=conda environment resolve\n"
           "    python flow.py --environment=conda environment show --json start")
@click.pass_obj
def environment(obj):
    pass


def _fail(message: str, status: int = 1) -> None:
    from ..errors import fail

    fail(message, status)


def _run(func):
    """One line per failure, including Metaflow's own exceptions (ours arrive as those)."""
    from metaflow.exception import MetaflowException

    from ..errors import debug_enabled, exit_on_user_error

    @exit_on_user_error
    def wrapper():
        try:
            return func()
        except MetaflowException as err:
            if debug_enabled():
                raise
            _fail(getattr(err, "message", None) or str(err))

    return wrapper()


def _output_option(func):
    return click.option("--output", default=None, metavar="FILE",
                        help="Also write the results to FILE as JSON, in the reference extension's shape "
                        "(what its Runner reads; see the docs).")(func)


def _local_only_option(func):
    return click.option("--local-only/--non-local", " /--no-local-only", "local_only", default=False, show_default=True,
                        help="Only this machine's index and cache: the datastore is neither read (aliases, locks) "
                        "nor written (publishing); an environment not known here is resolved here.")(func)


def _output_file(path):
    from ..cli.output_file import OutputFile

    return OutputFile(path, "--output") if path else None


def _checked(obj, steps, command):
    """The flow's environment and the steps asked for (all of them when none), checked
    before any work."""
    env = obj.environment
    if not isinstance(env, CondaEnvironment):
        _fail("The environment commands need --environment=conda (or pypi): run `python %s "
              "--environment=conda environment %s`." % (sys.argv[0] or "flow.py", command))
    graph = getattr(obj, "graph", None)
    names = [n for n in getattr(graph, "sorted_nodes", [])] or [s.name for s in obj.flow]
    unknown = [s for s in steps if s not in names]
    if unknown:
        _fail("Unknown step%s %s in %s: use one of %s." % ("s" if len(unknown) > 1 else "", ", ".join(unknown),
                                                           obj.flow.name, ", ".join(names)), 2)
    return env, list(dict.fromkeys(steps)) or names


# What the `state` of a step's document says: its environment was resolved by this command or
# reused (known already); or it has none here: no environment decorator applies (disabled), it
# is looked up when the task starts (fetch-at-exec), or it was not resolved.
RESOLVED, REUSED, DISABLED, FETCH_AT_EXEC, UNRESOLVED = "resolved", "reused", "disabled", "fetch-at-exec", "unresolved"


def _describe(obj, env, step_names):
    """(step, ResolvedEnvironment or None, why-none, state) for each step."""
    out = []
    for name in step_names:
        request = env.request_for(name)
        found = env.resolved(name)
        if found is not None:
            out.append((name, found, "", REUSED if env.was_reused(name) else RESOLVED))
        elif request is None or request.disabled:
            out.append((name, None, "no environment: runs in the flow's own Python", DISABLED))
        elif request.fetch_at_exec:
            out.append((name, None, "looked up when the task starts: %s (%s)" % (request.base, env.arch_of(name)),
                        FETCH_AT_EXEC))
        else:
            out.append((name, None, "not resolved", UNRESOLVED))
    return out


def _documents(env, described):
    from ..cli.document import env_document

    docs = []
    for name, found, why, state in described:
        if found is not None:
            docs.append(dict(step=name, state=state, **env_document(env.manager(), found)))
        else:
            docs.append({"step": name, "state": state, "env_id": None, "note": why})
    return docs


def _summary(described) -> str:
    width = max(len(row[0]) for row in described)
    lines = []
    for name, found, why, _ in described:
        if found is None:
            lines.append("%-*s  %s" % (width, name, why))
        else:
            lines.append("%-*s  %-10s %s:%s  %s  Python %s, %d packages" % (
                width, name, found.env_type, found.req_id, found.full_id, found.arch, found.python_version,
                len(found.packages)))
    return "\n".join(lines)


@environment.command(short_help="Resolve (or reuse) the environments of steps.",
                     help="Resolve the environments of the given steps (default: all), in parallel, "
                     "for the platform each runs on (or each --arch); reuse known ones unless --force. "
                     "Publishes them when the datastore is not local.\n\nExamples:\n\n\b\n"
                     "    python flow.py --environment=conda environment resolve --force train\n"
                     "    python flow.py --environment=conda environment resolve --alias team/train:v1 train")
@click.option("--force/--no-force", default=False, show_default=True,
              help="Re-resolve even when the request is already known.")
@click.option("--dry-run/--no-dry-run", default=False, show_default=True,
              help="Resolve only: record, publish and alias nothing.")
@click.option("--arch", "archs", multiple=True, metavar="ARCH",
              help="Resolve for this architecture instead of the one each step runs on (repeatable).")
@click.option("--alias", "aliases", multiple=True, metavar="NAME[:TAG]",
              help="Alias the result (repeatable); the steps must share one environment (with several "
              "--arch, that of the first).")
@click.option("--json/--no-json", "as_json", default=False, show_default=True,
              help="Print the JSON documents (as show --json).")
@_output_option
@_local_only_option
@click.argument("steps", nargs=-1, metavar="[STEP]...")
@click.pass_obj
def resolve(obj, force, dry_run, archs, aliases, as_json, output, local_only, steps):
    def run():
        from ..cli.args import check_archs, check_new_aliases

        env, names = _checked(obj, steps, "resolve")
        chosen, new_aliases = check_archs(archs), check_new_aliases(aliases)
        out = _output_file(output)
        if local_only:
            env.use_local_only()
        jobs = env.step_jobs(names, chosen or None)
        if new_aliases:
            _check_one_environment(jobs, chosen)
        resolved = env.resolve_jobs(obj.echo, jobs, force=force, dry_run=dry_run)
        if not dry_run:
            _record(env, resolved, new_aliases)
        described = _described(obj, env, names, resolved)
        _print(env, described, as_json, out, lambda rows, docs: _summary(rows), _results.resolve_results)

    _run(run)


def _check_one_environment(jobs, archs) -> None:
    """An alias names one environment: that of the first --arch, shared by all the steps."""
    from ..errors import SpecError

    first = [steps for job, steps in jobs.items() if not archs or job[0] == archs[0]]
    if len(first) != 1:
        raise SpecError("--alias names one environment, but %s: give the steps to alias, e.g. `environment "
                        "resolve --alias NAME %s`." % (
                            "these steps have none" if not first else
                            "the steps have %d (%s)" % (len(first), "; ".join(", ".join(s) for s in first)),
                            first[0][0] if first else "STEP"))


def _record(env, resolved, aliases) -> None:
    """Publish (to a datastore that is not local) and alias what was resolved."""
    if env.manager().store is not None:
        env.publish(found for _, found, _ in resolved)
    for alias in aliases:
        env.manager().alias(resolved[0][1], alias)


def _described(obj, env, names, resolved):
    """Each step's environments (one per arch) as resolved, or why it has none, in step order."""
    by_step = {}
    for steps, found, reused in resolved:
        for name in steps:
            by_step.setdefault(name, []).append((found, REUSED if reused else RESOLVED))
    rows = []
    for name in names:
        rows += [(name, found, "", state) for found, state in by_step[name]] if name in by_step else _describe(
            obj, env, [name])
    return rows


@environment.command(short_help="Show the environments of steps (--json for a document).",
                     help="Show the environment each given step (default: all) runs in: type, ids, arch, "
                     "requested packages, sources and packages. Resolves what is not known yet, as `run` "
                     "would.\n\nExample:\n\n\b\n"
                     "    python flow.py --environment=conda environment show --json start")
@click.option("--json/--no-json", "as_json", default=False, show_default=True,
              help="One JSON list: an object per step (the show --json document plus `step` and `state`).")
@_output_option
@_local_only_option
@click.argument("steps", nargs=-1, metavar="[STEP]...")
@click.pass_obj
def show(obj, as_json, output, local_only, steps):
    def run():
        env, names = _checked(obj, steps, "show")
        out = _output_file(output)
        if local_only:
            env.use_local_only()
        env.init_environment(obj.echo, only_steps=names)
        _print(env, _describe(obj, env, names), as_json, out, _blocks,
               lambda docs, rows: _results.show_results(env, docs, rows))

    _run(run)


def _blocks(described, docs) -> str:
    from ..cli.render import render

    blocks = []
    for (name, found, why, _), doc in zip(described, docs):
        blocks.append(render(doc, "of step %s" % name) if found is not None else "Step %s: %s" % (name, why))
    return "\n\n".join(blocks)


def _print(env, described, as_json, out, human, results) -> None:
    """The result on stdout (the JSON documents or `human`'s text), and `results` (the
    reference's shape, step_results.py) into --output's file."""
    from ..cli.document import dumps

    docs = _documents(env, described)
    if out is not None:
        out.write(dumps(results(docs, described)) + "\n")
    print(dumps(docs) if as_json else human(described, docs), flush=True)
