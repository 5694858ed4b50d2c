"""`metaflow environment ...`: environments outside of flows.

Each command checks its arguments, then makes one call into the library in
plugins/envs/cli/ (or the engine) and prints the result: documents and results on stdout,
progress and notes on stderr. Every failure is one line on stderr and a non-zero exit.
"""
import sys
from contextlib import nullcontext
from pathlib import Path

from metaflow._vendor import click

ENV_HELP = ("ENV is an alias (team/env[:tag]), a pathspec (Flow/run_id/step) or an environment id "
            "(req_id:full_id[:arch]).")


def _banner_to_stderr() -> None:
    """`metaflow` prints its banner on stdout before running a command. Ours print
    documents scripts read (JSON, exports), so while `metaflow environment` runs the banner
    goes to stderr instead."""
    if sys.argv[1:2] != ["environment"]:
        return
    for name in ("metaflow.cmd.main_cli", "__main__"):
        module = sys.modules.get(name)
        echo = getattr(module, "echo_always", None)
        if echo is not None and hasattr(module, "resolve_cmds") and not getattr(echo, "_to_stderr", False):
            def to_stderr(line, _echo=echo, **kwargs):
                kwargs["err"] = True
                return _echo(line, **kwargs)

            to_stderr._to_stderr = True
            module.echo_always = to_stderr


_banner_to_stderr()


class _Group(click.Group):
    """Usage mistakes (unknown option, missing argument, bad value) as one line on stderr
    naming the command's --help, exit status 2."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as err:
            _usage_failure(err)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            _usage_failure(err)

    def resolve_command(self, ctx, args):
        """An unknown command names the closest ones (`shwo` -> `show`)."""
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            import difflib

            close = difflib.get_close_matches(args[0], self.list_commands(ctx), n=2, cutoff=0.6)
            if close:
                raise click.UsageError("No such command '%s': did you mean %s?" % (
                    args[0], " or ".join("'%s'" % c for c in close)), ctx)
        return super().resolve_command(ctx, args)


def _usage_failure(err) -> None:
    from metaflow_extensions.envs.plugins.envs.errors import EXIT_USAGE, fail

    where = err.ctx.command_path if err.ctx is not None else "metaflow environment"
    fail("%s (see `%s --help`)." % (err.format_message().rstrip("."), where), EXIT_USAGE)


def _quiet_option(func):
    return click.option("--quiet/--no-quiet", "-q", default=False,
                        help="No progress or notes on stderr (results and errors are still printed).")(func)


def _arch_option(help_text):
    return click.option("--arch", default=None, metavar="ARCH", help=help_text)


def _pathspec_option(func):
    return click.option("--pathspec/--no-pathspec", "as_pathspec", default=False,
                        help="ENV is a pathspec (Flow/run_id/step), even where it could read as an alias.")(func)


def _local_only_option(func):
    return click.option("--local-only/--non-local", " /--no-local-only", "local_only", default=False,
                        help="Never look in the datastore: only this machine's index.")(func)


class _Obj:
    def __init__(self, quiet: bool, datastore, result_file=None):
        self.quiet = quiet
        self.datastore = datastore
        self.result_file = result_file  # --quiet-file-output

    def progress(self, quiet: bool = False):
        from metaflow_extensions.envs.plugins.envs.cli.progress import Progress

        return Progress(quiet=quiet or self.quiet)

    def datastore_type(self) -> str:
        """The datastore tasks use: whose client Metaflow needs in them."""
        from metaflow_extensions.envs.plugins.envs import settings

        return self.datastore or settings.get("DEFAULT_DATASTORE") or "local"

    def environments(self, local_only: bool = False):
        from metaflow_extensions.envs.plugins.envs.environments import Environments

        return Environments.for_datastore(self.datastore, local_only)


def _emit(text: str, newline: bool = True, file_text=None) -> None:
    """Print a command's result on stdout, and into --quiet-file-output's file: `file_text`
    (the reference's quiet lines, which scripts written for it parse) where given, else the
    same text."""
    if newline and not text.endswith("\n"):
        text += "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(_Obj) if ctx is not None else None
    if obj is not None and obj.result_file is not None:
        obj.result_file.add(text if file_text is None else file_text)


def _quiet_lines(items) -> str:
    """(heading, env_document) pairs as the reference's --quiet prints them: the heading line
    (an arch, or ENV@arch), then the environment's one-line description."""
    from metaflow_extensions.envs.plugins.envs.cli.reference_quiet import quiet_line

    return "".join("%s\n%s\n" % (heading, quiet_line(doc)) for heading, doc in items)


def _check_arch(arch):
    from metaflow_extensions.envs.plugins.envs.cli.args import check_archs

    return check_archs([arch])[0] if arch else None


def _kind(as_pathspec: bool):
    """What --pathspec makes of ENV (None: whatever its form says)."""
    return "pathspec" if as_pathspec else None


def _one_line(func):
    from metaflow_extensions.envs.plugins.envs.errors import exit_on_user_error

    return exit_on_user_error(func)


def _metadata_types():
    from metaflow.plugins import METADATA_PROVIDERS

    return [m.TYPE for m in METADATA_PROVIDERS]


@click.group()
def cli():
    pass


@cli.group(cls=_Group, help="Manage Conda/PyPI environments outside of flows: resolve, show, create, "
           "alias, get, diff, export, list, gc and import-reference (environments stored by the reference extension).\n\nExample:\n\n\b\n"
           "    metaflow environment resolve -r requirements.txt --alias team/serving:v1\n"
           "    metaflow environment show team/serving:v1")
@click.option("--quiet/--no-quiet", "-q", default=False, show_default=True, help="No progress or notes on stderr.")
@click.option("--datastore", default=None, type=click.Choice(["local", "s3", "azure", "gs"]),
              help="Datastore holding shared environments [default: METAFLOW_DEFAULT_DATASTORE].")
@click.option("--environment", "_environment", default="conda", show_default=True, type=click.Choice(["conda", "pypi"]),
              help="Accepted as the reference extension's group accepts it: both manage the same environments.")
@click.option("--conda-root", default=None, metavar="ROOT",
              help="Root of the shared store on the datastore, e.g. s3://bucket/conda_env (for this command, "
              "as METAFLOW_CONDA_S3ROOT, _AZUREROOT or _GSROOT would set it) [default: that setting, else "
              "conda_env under the datastore's root]. Not with the local datastore.")
@click.option("--metadata", default=None, type=click.Choice(_metadata_types()),
              help="Metadata provider the Metaflow client reads runs from (the code package of `create PATHSPEC "
              "--into-dir`) [default: METAFLOW_DEFAULT_METADATA].")
@click.option("--quiet-file-output", default=None, metavar="FILE",
              help="Also write the result to FILE for scripts, as the reference extension's --quiet prints it: "
              "create's Python path; for resolve, show and get, each environment's one-line description "
              "(req_id full_id aliases arch ...); other commands: what they print. Written with or without "
              "--quiet.")
@click.pass_context
def environment(ctx, quiet, datastore, _environment, conda_root, metadata, quiet_file_output):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import group_options
        from metaflow_extensions.envs.plugins.envs.cli.output_file import OutputFile

        obj = _Obj(quiet, datastore)
        if conda_root is not None:
            group_options.apply_conda_root(obj.datastore_type(), conda_root)
        if metadata is not None:
            from metaflow_extensions.envs.plugins.envs.integration.step_code import apply_metadata

            apply_metadata(metadata)
        if quiet_file_output is not None:
            obj.result_file = OutputFile(quiet_file_output, "--quiet-file-output")
        return obj

    ctx.obj = run()
    _fast_exit()


def _fast_exit() -> None:
    """Interpreter shutdown spends ~0.1 s garbage-collecting the module graph Metaflow loads,
    for nothing: the process is ending. Registered before the command runs, so it runs after
    the exit handlers the command adds (temporary directories are removed by then); objects
    are still released, only the final collection passes skip them."""
    import atexit
    import gc

    atexit.register(gc.freeze)


# ---- resolve -----------------------------------------------------------------------------
@environment.command(short_help="Resolve, publish and alias an environment.",
                     help="Resolve an environment for each --arch (default: this machine's), publish it "
                     "to the datastore, alias it and print it.\n\nExamples:\n\n\b\n"
                     "    metaflow environment resolve -r requirements.txt --alias team/serving:v1\n"
                     "    metaflow environment resolve -f environment.yml --arch linux-64 --arch osx-arm64 --json\n"
                     "    metaflow environment resolve --using team/serving:v1 -r extra.txt --alias team/serving:v2\n"
                     "    metaflow environment resolve --python 3.11 --conda-pkg numpy==1.26.4 --alias team/np:v1\n\n"
                     "What Metaflow needs in a task (requests, and boto3 for an S3 datastore...) is added "
                     "unless --skip-metaflow-deps.")
@click.option("-r", "--requirement", "req_file", default=None, metavar="FILE", help="A requirements.txt file.")
@click.option("-f", "--file", "yml_file", default=None, metavar="FILE", help="An environment.yml file.")
@click.option("-p", "--pyproject", "toml_file", default=None, metavar="FILE", help="A pyproject.toml file; "
              "with a uv.lock beside it, its PyPI packages are taken as locked there.")
@click.option("--uv-lock", "uv_lock", default=None, metavar="FILE",
              help="A uv.lock (its pyproject.toml beside it): PyPI packages as locked, not re-resolved.")
@click.option("--pylock", "pylock", default=None, metavar="FILE",
              help="A pylock.toml (PEP 751): PyPI packages as locked, not re-resolved.")
@click.option("--use-uv-lock/--no-uv-lock", "use_uv_lock", default=True, show_default=True,
              help="With -p: --no-uv-lock resolves the pyproject.toml's requirements, ignoring a uv.lock beside it.")
@click.option("--extra", "extras", multiple=True, metavar="NAME",
              help="An extra of the uv.lock / pylock.toml to install (repeatable).")
@click.option("--group", "groups", multiple=True, metavar="NAME",
              help="A dependency group of the uv.lock / pylock.toml to install (repeatable), besides uv's "
              "default ones.")
@click.option("--python", default=None, metavar="VER", help="Python version, e.g. 3.11 (the 3.11 series) or "
              ">=3.10,<3.13 [default: the file's, else this interpreter's major.minor].")
@click.option("--arch", "archs", multiple=True, metavar="ARCH",
              help="Architecture to resolve for (repeatable): linux-64, linux-aarch64, osx-64, osx-arm64.")
@click.option("--using", default=None, metavar="ENV", help="Start from this environment and add the file's "
              "requirements (an alias or req_id:full_id).")
@click.option("--using-pathspec", default=None, metavar="PATHSPEC",
              help="Start from the environment a step ran in (Flow/run_id/step).")
@click.option("--from", "from_env", default=None, metavar="ENV",
              help="Re-resolve what this environment was asked for (plus any file or package given here).")
@click.option("--from-pathspec", default=None, metavar="PATHSPEC",
              help="Re-resolve what the environment of this step (Flow/run_id/step) was asked for.")
@click.option("--conda-pkg", "conda_pkgs", multiple=True, metavar="NAME[SPEC]",
              help="A Conda package to add, e.g. numpy==1.26.4 (repeatable).")
@click.option("--pypi-pkg", "pypi_pkgs", multiple=True, metavar="REQUIREMENT",
              help="A PyPI requirement to add, e.g. 'requests>=2.31' (repeatable).")
@click.option("--skip-metaflow-deps/--no-skip-metaflow-deps", default=False,
              help="Do not add what Metaflow needs in a task (requests, the datastore's client such as boto3).")
@click.option("--alias", "aliases", multiple=True, metavar="NAME[:TAG]",
              help="Alias the result (repeatable); with several --arch, the first arch's environment.")
@click.option("--force/--no-force", default=False, help="Re-resolve even when the request is already known.")
@click.option("--prefer", default=None, metavar="ENV", help="Keep the versions this environment locked wherever "
              "the request allows them (an alias, pathspec or req_id:full_id) [default: the --using environment].")
@click.option("--upgrade/--no-upgrade", "upgrade_all", default=False,
              help="Keep no previous version: every package may move to the newest allowed (implies --force).")
@click.option("--upgrade-package", "upgrade", multiple=True, metavar="NAME",
              help="Let this package move to the newest allowed (repeatable; implies --force).")
@click.option("--dry-run/--no-dry-run", default=False,
              help="Resolve only: download, cache, publish and alias nothing.")
@click.option("--set-default/--no-set-default", default=True, show_default=True,
              help="Make the result the default environment for its requirements.")
@click.option("--verify/--no-verify", default=False, show_default=True,
              help="Before recording, publishing or aliasing, create the environment in a scratch prefix "
              "and import each requested package; one that does not import fails the command. Only "
              "environments for this machine's platform can be verified.")
@_local_only_option
@click.option("--json/--no-json", "as_json", default=False, help="Print the JSON document (as show --json).")
@_quiet_option
@click.pass_obj
def resolve(obj, req_file, yml_file, toml_file, uv_lock, pylock, use_uv_lock, extras, groups, python, archs, using,
            using_pathspec, from_env, from_pathspec, conda_pkgs, pypi_pkgs, skip_metaflow_deps, aliases, force, prefer,
            upgrade_all, upgrade, dry_run, set_default, verify, local_only, as_json, quiet):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import args, document, refs, render, resolving
        from metaflow_extensions.envs.plugins.envs.integration.metaflow_needs import with_metaflow_needs
        from metaflow_extensions.envs.plugins.envs.errors import SpecError
        from metaflow_extensions.envs.plugins.envs.integration.decorator_rules import python_version_spec
        from metaflow_extensions.envs.plugins.envs.resolve.platforms import host_platform
        from metaflow_extensions.envs.plugins.envs.resolve.preferences import check_package_names

        # Every argument is checked before any work starts.
        chosen_archs = args.check_archs(archs) or [host_platform()]
        new_aliases = args.check_new_aliases(aliases)
        spec_file = args.check_env_file([("-r", req_file, "requirements"), ("-f", yml_file, "environment-yml"),
                                         ("-p", toml_file, "pyproject"), ("--uv-lock", uv_lock, "uv-lock"),
                                         ("--pylock", pylock, "pylock")])
        starts = [(flag, value) for flag, value in (("--using", using), ("--using-pathspec", using_pathspec),
                                                    ("--from", from_env), ("--from-pathspec", from_pathspec)) if value]
        if len(starts) > 1:
            raise SpecError("Give only one of --using, --using-pathspec, --from and --from-pathspec (got %s)."
                            % " and ".join(flag for flag, _ in starts))
        base = refs.parse_ref(using or using_pathspec, "pathspec" if using_pathspec else None) if (
            using or using_pathspec) else None
        earlier = refs.parse_ref(from_env or from_pathspec, "pathspec" if from_pathspec else None) if (
            from_env or from_pathspec) else None
        request = resolving.ResolveRequest(
            archs=chosen_archs, spec_file=spec_file[0] if spec_file else None,
            spec_kind=spec_file[1] if spec_file else None, python=python_version_spec(python) if python else None,
            using=base, aliases=new_aliases, force=force, dry_run=dry_run, set_default=set_default,
            local_only=local_only, extras=extras, groups=groups, use_uv_lock=use_uv_lock, verify=verify,
            prefer=refs.parse_ref(prefer) if prefer else None, upgrade_all=upgrade_all,
            upgrade=check_package_names(upgrade, "--upgrade-package"),
            conda_pkgs=args.check_packages(conda_pkgs, "--conda-pkg"),
            pypi_pkgs=args.check_packages(pypi_pkgs, "--pypi-pkg"), from_env=earlier,
            metaflow_deps=not skip_metaflow_deps, datastore=obj.datastore_type())
        spec = resolving.read_request(request)  # the file parses (or the error names it) before any work
        envs = obj.environments(local_only=local_only)
        results = resolving.resolve(envs, request, spec, obj.progress(quiet), with_metaflow_needs)
        docs = document.documents(envs, results)
        quiet_text = _quiet_lines((doc["env_id"]["arch"], doc) for doc in docs)
        if as_json:
            _emit(document.dumps(docs), file_text=quiet_text)
        else:
            _emit("\n\n".join(render.render(doc, "for %s" % doc["env_id"]["arch"]) for doc in docs),
                  file_text=quiet_text)

    run()


# ---- show --------------------------------------------------------------------------------
@environment.command(short_help="Show environments (--json for a document).",
                     help="Show environments: type, ids, arch, when and by whom they were resolved, where "
                     "they are created, what was requested, sources and packages. " + ENV_HELP +
                     "\n\nExamples:\n\n\b\n"
                     "    metaflow environment show team/serving:v1\n"
                     "    metaflow environment show --json MyFlow/12/train")
@click.option("--json/--no-json", "as_json", default=False,
              help="Print one JSON list with an object per environment.")
@_arch_option("Architecture the environments must be for (default: whatever they name).")
@_pathspec_option
@_local_only_option
@_quiet_option
@click.argument("envs_", metavar="ENV...", nargs=-1, required=True)
@click.pass_obj
def show(obj, as_json, arch, as_pathspec, local_only, quiet, envs_):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import document, refs, render

        wanted = _check_arch(arch)
        parsed = [refs.parse_ref(text, _kind(as_pathspec)) for text in envs_]
        envs = obj.environments(local_only=local_only)
        found = [refs.find(envs, ref, wanted) for ref in parsed]
        docs = document.documents(envs, found)
        quiet_text = _quiet_lines(("%s@%s" % (text, doc["env_id"]["arch"]), doc) for text, doc in zip(envs_, docs))
        if as_json:
            _emit(document.dumps(docs), file_text=quiet_text)
        else:
            _emit("\n\n".join(render.render(doc, str(ref)) for ref, doc in zip(parsed, docs)), file_text=quiet_text)

    run()


# ---- create ------------------------------------------------------------------------------
@environment.command(short_help="Create an environment on this machine.",
                     help="Create (hydrate) an environment on this machine and print how to use it. "
                     + ENV_HELP + " With a pathspec, --into-dir also downloads that step's code package so "
                     "the step's code runs in its environment. --install-notebook writes a Jupyter kernel "
                     "(an environment without ipykernel is extended with it).\n\nExamples:\n\n\b\n"
                     "    metaflow environment create team/serving:v1\n"
                     "    metaflow environment create MyFlow/12/train --into-dir ./train-code\n"
                     "    metaflow environment create team/nb:v1 --name nb --install-notebook")
@click.option("--name", default=None, metavar="NAME",
              help="Create it as <cache>/envs/named/NAME instead of its own prefix.")
@click.option("--prefix", "prefix_path", default=None, metavar="DIR", help="Create it at this path.")
@click.option("--into-dir", default=None, metavar="DIR",
              help="Put the step's code package (for a pathspec) and a __conda_python link here.")
@click.option("--install-notebook/--no-install-notebook", default=False,
              help="Install a Jupyter kernel named after the environment.")
@click.option("--notebook-prefix", default=None, metavar="DIR",
              help="With --install-notebook: install the kernel under DIR/share/jupyter/kernels "
              "[default: Jupyter's user data dir].")
@click.option("--force/--no-force", default=False,
              help="Re-create the prefix and replace --into-dir's content (only if metaflow-envs made them).")
@click.option("--dry-run/--no-dry-run", default=False,
              help="Only print the plan: whether the prefix would be created, and where each package would "
              "come from (the local cache, the datastore or its origin) and why. Changes nothing.")
@click.option("--json/--no-json", "as_json", default=False, help="With --dry-run: print the plan as JSON.")
@click.option("--strict/--no-strict", default=True, show_default=True,
              help="For a step without a code package (with --into-dir): fail if the Metaflow version the step "
              "ran with cannot be installed in its environment; --no-strict creates it without.")
@click.option("--exact/--no-exact", default=False,
              help="Create exactly the environment ENV names: fail rather than extend it (as --install-notebook "
              "does for an environment without ipykernel, and --into-dir for a step without a code package).")
@_arch_option("Architecture of the environment (default: whatever ENV names).")
@_pathspec_option
@_local_only_option
@_quiet_option
@click.argument("env", metavar="ENV")
@click.pass_obj
def create(obj, name, prefix_path, into_dir, install_notebook, notebook_prefix, force, dry_run, as_json, strict, exact,
           arch, as_pathspec, local_only, quiet, env):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import (args, code_package, creating, document, notebook, refs,
                                                               step_metaflow)
        from metaflow_extensions.envs.plugins.envs.errors import EnvError, SpecError
        from metaflow_extensions.envs.plugins.envs.hydrate.prefix import check_target, named_prefix, python_in
        from metaflow_extensions.envs.plugins.envs.integration import step_code

        wanted = _check_arch(arch)
        ref = refs.parse_ref(env, _kind(as_pathspec))
        if name and prefix_path:
            raise SpecError("Give only one of --name and --prefix.")
        if as_json and not dry_run:
            raise SpecError("--json prints the plan of --dry-run: add --dry-run, or drop --json.")
        target = named_prefix(args.check_prefix_name(name)) if name else (
            check_target(Path(args.check_dir_name(prefix_path, "--prefix")).expanduser()) if prefix_path else None)
        into = Path(args.check_dir_name(into_dir, "--into-dir")).expanduser().absolute() if into_dir else None
        if into is not None:
            code_package.check_into_dir(into, force)
        progress = obj.progress(quiet)
        envs = obj.environments(local_only=local_only)
        found = refs.find(envs, ref, wanted)
        if dry_run:
            steps = envs.plan(found, target, force)
            _emit(document.dumps(creating.plan_document(steps, found)) if as_json else creating.render_plan(steps))
            return
        if install_notebook and not notebook.has_ipykernel(found):
            if exact:
                raise EnvError("%s has no ipykernel, which its Jupyter kernel needs, and --exact creates it "
                               "unchanged: drop --exact to extend it with ipykernel, or resolve one with it." % ref)
            with progress.task("Adding ipykernel to %s, which its Jupyter kernel needs" % ref):
                found = notebook.with_ipykernel(envs, found)
        code = None
        if into is not None and ref.is_pathspec:
            pathspec = ref.alias.name
            code, task = step_code.code_of(pathspec, envs.index.run_root(*pathspec.split("/")[:2]))
            version = step_metaflow.recorded_version(task) if code is None else None
            if code is None and not (version and step_metaflow.has_metaflow(found, version)):
                if exact:
                    raise EnvError("Step %s has no code package, so its Metaflow must be added to the environment, "
                                   "and --exact creates it unchanged: drop --exact." % pathspec)
                # No version: nothing to add (fails with --strict, else a warning), so no progress line.
                with (nullcontext() if version is None else progress.task(
                        "Adding Metaflow %s, which step %s ran with, to its environment" % (version, pathspec))):
                    found = step_metaflow.with_step_metaflow(envs, found, version, pathspec, strict, progress.warn)
        prefix = creating.create(envs, found, target, force, progress)
        python = python_in(prefix)
        if into is not None:
            if code is not None:
                with progress.task("Extracting the code package of %s into %s" % (ref, into)):
                    code_package.extract(code, into)
            else:
                code_package.prepare_dir(into, force)
            code_package.link_python(into, python)
        kernel = None
        if install_notebook:
            label = name or str(ref)
            kernel = notebook.install_kernel(python, notebook.kernel_name(label), "Metaflow: %s" % label,
                                             notebook_prefix, code_package.pythonpath(into) if into else None)
        if obj.quiet or quiet:
            _emit(str(python))
            return
        lines = ["Environment %s (%s:%s, %s) is ready at %s" % (ref, found.req_id, found.full_id, found.arch, prefix)]
        lines += creating.usage(prefix)
        if into is not None:
            if code is not None:
                lines.append(creating.field("Run the step's code:", "cd %s && PYTHONPATH=%s ./%s %s ..." % (
                    into, code_package.pythonpath(into), code_package.PYTHON_LINK, code_package.script_name(code))))
            else:
                lines.append(creating.field("Its Python here:", into / code_package.PYTHON_LINK))
        if kernel is not None:
            lines.append(creating.field("Jupyter kernel:", "%s (%s)" % (kernel.parent.name, kernel)))
        _emit("\n".join(lines))

    run()


# ---- alias / get -------------------------------------------------------------------------
@environment.command(short_help="Give an environment another alias.",
                     help="Give an environment another alias (NEW_ALIAS is name[:tag]; the tags latest, "
                     "candidate and stable can be moved later, other aliases are immutable). " + ENV_HELP +
                     "\n\nExample:\n\n\b\n"
                     "    metaflow environment alias MyFlow/12/train team/train:stable")
@_pathspec_option
@_local_only_option
@_quiet_option
@click.argument("env", metavar="ENV")
@click.argument("new_alias", metavar="NEW_ALIAS")
@click.pass_obj
def alias(obj, as_pathspec, local_only, quiet, env, new_alias):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import args, refs

        ref = refs.parse_ref(env, _kind(as_pathspec))
        target = args.check_new_aliases([new_alias])[0]
        envs = obj.environments(local_only=local_only)
        found = refs.find(envs, ref)
        envs.alias(found, target)
        _emit("%s -> %s" % (target, refs.label(found)))

    run()


@environment.command(short_help="Bring a datastore environment into the local index.",
                     help="Bring an environment resolved elsewhere (in the datastore) into this machine's "
                     "index, so flows and commands find it locally. " + ENV_HELP +
                     "\n\nExample:\n\n\b\n"
                     "    metaflow environment get team/serving:v1")
@click.option("--default/--no-default", "make_default", default=True, show_default=True,
              help="Make it the default environment for its requirements.")
@_arch_option("Architecture the environment must be for (default: whatever ENV names).")
@_pathspec_option
@_quiet_option
@click.argument("env", metavar="ENV")
@click.pass_obj
def get(obj, make_default, arch, as_pathspec, quiet, env):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import refs

        wanted = _check_arch(arch)
        ref = refs.parse_ref(env, _kind(as_pathspec))
        envs = obj.environments()
        if envs.store is None:
            obj.progress(quiet).note("No datastore configured (local datastore): looking in the local index only.")
        found = refs.find(envs, ref, wanted)
        envs.index.add(found, make_default=make_default)
        from metaflow_extensions.envs.plugins.envs.cli.document import env_document
        from metaflow_extensions.envs.plugins.envs.cli.reference_quiet import quiet_line

        _emit("%s -> %s is in the local index%s" % (ref, refs.label(found), " (default)" if make_default else ""),
              file_text=quiet_line(env_document(envs, found)) + "\n")

    run()


# ---- diff / export / list ----------------------------------------------------------------
@environment.command(short_help="Packages added, removed and changed between two environments.",
                     help="Compare two environments: packages added, removed and changed from ENV_A to "
                     "ENV_B. " + ENV_HELP + "\n\nExample:\n\n\b\n"
                     "    metaflow environment diff team/serving:v1 team/serving:v2")
@click.option("--json/--no-json", "as_json", default=False, help="Print the differences as JSON.")
@_local_only_option
@_quiet_option
@click.argument("env_a", metavar="ENV_A")
@click.argument("env_b", metavar="ENV_B")
@click.pass_obj
def diff(obj, as_json, local_only, quiet, env_a, env_b):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import diff as differ
        from metaflow_extensions.envs.plugins.envs.cli import document, refs

        ref_a, ref_b = refs.parse_ref(env_a), refs.parse_ref(env_b)
        envs = obj.environments(local_only=local_only)
        result = differ.diff(refs.find(envs, ref_a), refs.find(envs, ref_b))
        _emit(document.dumps(result) if as_json else differ.render(result, str(ref_a), str(ref_b)))

    run()


@environment.command(short_help="Write an environment as pylock, environment.yml, ... or an SBOM.",
                     help="Write an environment in another tool's format: pylock (pylock.toml, PEP 751), "
                     "environment-yml, requirements (with hashes), explicit (a Conda explicit file) or "
                     "cyclonedx (a CycloneDX JSON SBOM). " + ENV_HELP + "\n\nExamples:\n\n\b\n"
                     "    metaflow environment export team/serving:v1 --format pylock -o pylock.toml\n"
                     "    metaflow environment export MyFlow/12/train --format cyclonedx > sbom.json")
@click.option("--format", "fmt", required=True, metavar="FORMAT",
              help="pylock | environment-yml | requirements | explicit | cyclonedx")
@click.option("-o", "--output", default=None, metavar="FILE", help="Write to FILE instead of stdout.")
@_arch_option("Architecture the environment must be for (default: whatever ENV names).")
@_local_only_option
@_quiet_option
@click.argument("env", metavar="ENV")
@click.pass_obj
def export(obj, fmt, output, arch, local_only, quiet, env):
    @_one_line
    def run():
        import os

        from metaflow_extensions.envs.plugins.envs.cli import args, exports, refs
        from metaflow_extensions.envs.plugins.envs.cli.output_file import OutputFile
        from metaflow_extensions.envs.plugins.envs.errors import SpecError

        args.check_choice(fmt, exports.FORMATS, "--format")
        wanted = _check_arch(arch)
        ref = refs.parse_ref(env)
        if output and os.path.isdir(output):
            raise SpecError("-o %s is a directory: give a file name, e.g. %s."
                            % (output, os.path.join(output, exports.FILENAMES[fmt])))
        envs = obj.environments(local_only=local_only)
        found = refs.find(envs, ref, wanted)
        result = exports.export(found, fmt, str(ref) if ref.alias is not None else "")
        if result.omitted:
            obj.progress(quiet).note("Not expressible in the %s format, left out: %s."
                                     % (fmt, "; ".join(result.omitted)))
        if output:
            OutputFile(output, "-o").write(result.text)
            obj.progress(quiet).note("Wrote %s" % output)
        else:
            _emit(result.text, newline=False)

    run()


@environment.command("list", short_help="List known environments and aliases.",
                     help="List the named environments and aliases this machine knows (its local index); "
                     "the environments of flow runs (Flow/run_id/step) with --pathspecs or --flow NAME.\n\n"
                     "Examples:\n\n\b\n    metaflow environment list --arch linux-64\n"
                     "    metaflow environment list --flow TrainFlow")
@click.option("--json/--no-json", "as_json", default=False, help="Print {environments, aliases} as JSON.")
@click.option("--pathspecs/--no-pathspecs", default=False,
              help="Also list the run pathspecs (Flow/run_id/step) and the environments known only through them.")
@click.option("--flow", default=None, metavar="NAME",
              help="Only the run pathspecs of this flow and their environments.")
@_arch_option("Only environments for this architecture.")
@_quiet_option
@click.pass_obj
def list_(obj, as_json, pathspecs, flow, arch, quiet):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import document, listing

        wanted = _check_arch(arch)
        result = listing.known(obj.environments(local_only=True), wanted, pathspecs, listing.check_flow(flow))
        _emit(document.dumps(result.document) if as_json else listing.render(result))

    run()


# ---- gc ----------------------------------------------------------------------------------
@environment.command(short_help="Remove local environments and packages not used recently.",
                     help="Remove local environments (prefixes under the cache's envs/ dir) and cached "
                     "packages no one used in the last --older-than days; never those a running create is "
                     "building, nor directories metaflow-envs did not create. Last use is the latest access or modification time (see docs).\n\n"
                     "Examples:\n\n\b\n"
                     "    metaflow environment gc --older-than 30 --dry-run\n"
                     "    metaflow environment gc --older-than 7")
@click.option("--older-than", "days", type=float, default=30.0, show_default=True, metavar="DAYS",
              help="Remove what was last used more than DAYS days ago.")
@click.option("--dry-run/--no-dry-run", default=False, help="Only print what would be removed.")
@_quiet_option
@click.pass_obj
def gc(obj, days, dry_run, quiet):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import gc as collector

        report = collector.collect(obj.environments(local_only=True), days, dry_run)
        _emit(collector.render(report))

    run()


# ---- import-reference --------------------------------------------------------------------
@environment.command("import-reference", short_help="Import the reference extension's named environments.",
                     help="Read environments the reference extension (metaflow-netflixext) stored in the "
                     "datastore, check every package against the hash it recorded, and store them as our "
                     "environments under the same aliases: @named_env(name=...) then runs them without "
                     "re-resolving. Without --alias, every alias of the reference's store is imported."
                     "\n\nExample:\n\n\b\n"
                     "    metaflow environment import-reference --alias team/serving:v1")
@click.option("--alias", "aliases", multiple=True, metavar="NAME[:TAG]",
              help="A reference alias to import (repeatable) [default: all of them].")
@_arch_option("Architecture to import the environments for [default: this machine's].")
@click.option("--from-root", default=None, metavar="ROOT",
              help="The reference's store root [default: this datastore's environment root, which the "
              "reference also uses by default].")
@click.option("--envs-dirname", default=None, metavar="NAME",
              help="The reference's CONDA_ENVS_DIRNAME [default: envs-1, else envs, whichever holds aliases].")
@_quiet_option
@click.pass_obj
def import_reference(obj, aliases, arch, from_root, envs_dirname, quiet):
    @_one_line
    def run():
        from metaflow_extensions.envs.plugins.envs.cli import args
        from metaflow_extensions.envs.plugins.envs.cli import reference_import
        from metaflow_extensions.envs.plugins.envs.cli.refs import label
        from metaflow_extensions.envs.plugins.envs.resolve.platforms import host_platform

        wanted = args.check_new_aliases(aliases)
        imported = reference_import.import_reference(
            obj.environments(), obj.datastore_type(), _check_arch(arch) or host_platform(), wanted, from_root,
            envs_dirname, obj.progress(quiet))
        for item in imported:
            _emit("%s -> %s (reference %s)" % (item.alias, label(item.env), item.reference_id))

    run()
