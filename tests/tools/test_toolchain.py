"""Proof that the toolchain installed by bin/setup works, end to end, with no mocks.

Run after `bin/setup`:  source setup/env.sh && .venv/bin/pytest -m tools tests/tools

Each test drives the real `pulumi` CLI (built from Go modules) on a throw-away
file backend with a passphrase secrets provider, through hastack's Python
language host, its launchers and the plugins in .venv/bin.
"""
from __future__ import annotations

import os
import subprocess
import textwrap
from concurrent import futures
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tools, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PULUMI_VERSION = "v3.274.1"  # setup/toolchain.env
LANGUAGE_HOST_VERSION = "3.274.1+hastack"
COMMAND_VERSION = "1.2.1"


def _toolchain_info() -> str:
    info = VENV / ".hastack-toolchain-info"
    return info.read_text() if info.exists() else ""


@pytest.fixture(scope="module", autouse=True)
def _toolchain_installed():
    missing = [n for n in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec",
                           "pulumi-resource-pulumi-python", "python") if not (BIN / n).exists()]
    if missing:
        pytest.fail(f"toolchain incomplete in {BIN} (missing {', '.join(missing)}): run bin/setup")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment setup/env.sh gives, on a private backend and PULUMI_HOME."""
    state = tmp_path / "state"
    state.mkdir()
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("PULUMI_"):
            del e[k]
    e.update(
        PATH=f"{BIN}{os.pathsep}{e.get('PATH', '')}",
        VIRTUAL_ENV=str(VENV),
        PULUMI_HOME=str(tmp_path / "pulumi-home"),
        PULUMI_BACKEND_URL=f"file://{state}",
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_CONFIG_PASSPHRASE="hastack-toolchain-test",
        PULUMI_SKIP_CONFIRMATIONS="true",
        NO_COLOR="1",
    )
    return e


def pulumi(env: dict[str, str], cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "pulumi"), *args, "--non-interactive"] if args[0] not in ("version",)
                          else [str(BIN / "pulumi"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=150)
    if check and proc.returncode != 0:
        pytest.fail(f"pulumi {' '.join(args)} exited {proc.returncode}\n"
                    f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def make_project(tmp_path: Path, name: str, program: str) -> Path:
    proj = tmp_path / name
    proj.mkdir()
    (proj / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: {name}
        runtime:
          name: python
          options:
            virtualenv: {VENV}
        """))
    (proj / "__main__.py").write_text(textwrap.dedent(program))
    return proj


def stack_init(env: dict[str, str], proj: Path) -> None:
    pulumi(env, proj, "stack", "init", "test", "--secrets-provider", "passphrase")


def plugin_info(binary: Path, stub_name: str) -> str:
    """Start a plugin binary as the engine does and ask it GetPluginInfo over gRPC.

    The plugin gets the address of a stand-in engine that answers the gRPC health
    check every Pulumi plugin makes on start-up.
    """
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import language_pb2_grpc, provider_pb2_grpc

    serving = b"\x08\x01"  # grpc.health.v1.HealthCheckResponse{status: SERVING}
    health = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(lambda req, ctx: serving),
    })
    engine = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine.add_generic_rpc_handlers((health,))
    engine_port = engine.add_insecure_port("127.0.0.1:0")
    engine.start()
    proc = subprocess.Popen([str(binary), f"127.0.0.1:{engine_port}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"{binary.name} printed no port: {port!r} {proc.stderr.read() if proc.poll() else ''}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            stubs = {"language": language_pb2_grpc.LanguageRuntimeStub,
                     "provider": provider_pb2_grpc.ResourceProviderStub}
            return stubs[stub_name](channel).GetPluginInfo(empty_pb2.Empty(), timeout=10).version
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        engine.stop(None)


# --------------------------------------------------------------------------- versions

def test_pulumi_version(env, tmp_path):
    out = pulumi(env, tmp_path, "version").stdout.strip()
    assert out == PULUMI_VERSION


def test_language_host_reports_its_version():
    assert plugin_info(BIN / "pulumi-language-python", "language").lstrip("v") == LANGUAGE_HOST_VERSION


def test_launchers_are_executable():
    for name in ("pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
        assert os.access(BIN / name, os.X_OK), name


# --------------------------------------------------------------------------- dynamic provider

DYNAMIC_PROGRAM = """\
    import os
    import pulumi
    from pulumi.dynamic import CreateResult, Resource, ResourceProvider


    class FileProvider(ResourceProvider):
        def create(self, props):
            with open(props["path"], "w") as f:
                f.write(props["content"])
            return CreateResult(id_=props["path"], outs=props)

        def delete(self, id, props):
            os.remove(props["path"])


    class File(Resource):
        def __init__(self, name, path, content, opts=None):
            super().__init__(FileProvider(), name, {"path": path, "content": content}, opts)


    f = File("greeting", os.path.join(os.path.dirname(os.getcwd()), "greeting.txt"), "hello from hastack")
    pulumi.export("path", f.id)
"""


def test_dynamic_provider_up_preview_destroy(env, tmp_path):
    proj = make_project(tmp_path, "dynfile", DYNAMIC_PROGRAM)
    target = tmp_path / "greeting.txt"
    stack_init(env, proj)

    pulumi(env, proj, "up", "--yes")
    assert target.read_text() == "hello from hastack"
    assert pulumi(env, proj, "stack", "output", "path").stdout.strip() == str(target)

    # Nothing changed: a second preview proposes nothing (and says so).
    preview = pulumi(env, proj, "preview", "--expect-no-changes", "--diff")
    assert "2 unchanged" in preview.stdout

    pulumi(env, proj, "destroy", "--yes")
    assert not target.exists()


# --------------------------------------------------------------------------- policy pack

POLICY_PACK = """\
    from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


    def deny_files(args, report_violation):
        if args.resource_type == "pulumi-python:dynamic:Resource":
            report_violation("hastack-toolchain-test: dynamic file resources are denied")


    PolicyPack(
        name="hastack-toolchain-test",
        enforcement_level=EnforcementLevel.MANDATORY,
        policies=[ResourceValidationPolicy(
            name="deny-files", description="Denies every dynamic resource.", validate=deny_files)],
    )
"""


def test_policy_pack_denies_preview(env, tmp_path):
    proj = make_project(tmp_path, "policed", DYNAMIC_PROGRAM)
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text(textwrap.dedent(f"""\
        description: hastack toolchain test pack
        runtime:
          name: python
          options:
            virtualenv: {VENV}
        """))
    (pack / "__main__.py").write_text(textwrap.dedent(POLICY_PACK))
    stack_init(env, proj)

    proc = pulumi(env, proj, "preview", "--policy-pack", str(pack), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "hastack-toolchain-test: dynamic file resources are denied" in out
    assert "deny-files" in out
    assert not (tmp_path / "greeting.txt").exists()


# --------------------------------------------------------------------------- command plugin

def _command_plugin() -> Path:
    plugin = BIN / "pulumi-resource-command"
    if not plugin.exists():
        reason = next((line for line in _toolchain_info().splitlines()
                       if line.startswith("pulumi-resource-command")), "not installed")
        pytest.skip(f"pulumi-command plugin not built by bin/setup: {' '.join(reason.split())}")
    return plugin


def test_command_plugin_version():
    assert plugin_info(_command_plugin(), "provider").lstrip("v") == COMMAND_VERSION


def test_command_local_command(env, tmp_path):
    _command_plugin()
    proj = make_project(tmp_path, "cmd", """\
        import pulumi
        from pulumi_command import local

        hello = local.Command("hello", create="echo hello-from-command")
        pulumi.export("stdout", hello.stdout)
    """)
    stack_init(env, proj)
    pulumi(env, proj, "up", "--yes")
    assert pulumi(env, proj, "stack", "output", "stdout").stdout.strip() == "hello-from-command"
    pulumi(env, proj, "destroy", "--yes")
