"""Helpers for the live stack modules (test_stack_live, test_drills_live, test_stack_changes_live):
the stack's own backend, the real pulumi CLI on it, and what the hosts say of the clusters."""
from __future__ import annotations

import itertools
import re
import os
import shutil

import yaml
from labhelpers import capped, run_streamed, ssh

from hastack.facts.status import parse_crm_mon
from tests.conftest import ROOT, run

HYPERVISORS = ("node1", "node2")
CLUSTERS = {"hypervisor": ("node1", "node2"), "guest": ("pg1", "pg2")}

# The stack's state outlives the run (not in pytest's temporary directories, which a second
# pytest run on the machine prunes): a failed run can be inspected, or continued by hand.
STATE = ROOT / "out" / "live-stack-state"
LOGS = ROOT / "out" / "live-stack"  # each pulumi command's whole output, numbered
_commands = itertools.count(1)


def stack_environment(keep_state: bool = False) -> dict:
    """A fresh file backend with the lab stack initialised in it (or, with keep_state, the one a
    previous run left, if any), and the toolchain on PATH."""
    kept = keep_state and (STATE / "backend").is_dir()
    if not kept:
        shutil.rmtree(STATE, ignore_errors=True)
        (STATE / "backend").mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        PATH=f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
        PULUMI_BACKEND_URL=f"file://{STATE / 'backend'}",
        PULUMI_HOME=str(STATE / "pulumi-home"),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_CONFIG_PASSPHRASE="hastack-lab",
    )
    if not kept:
        run(["pulumi", "stack", "init", "lab"], env=env)
    shutil.rmtree(LOGS, ignore_errors=True)
    return env


def diagnostics(stdout: str) -> str:
    """Pulumi's "Diagnostics:" section (what failed, on which host), which the outputs that follow
    it would push out of a tail."""
    start = stdout.find("Diagnostics:")
    if start < 0:
        return stdout[-4000:]
    ends = [i for i in (stdout.find("\nOutputs:", start), stdout.find("\nResources:", start)) if i > 0]
    return stdout[start:min(ends) if ends else None][-12000:]


# A resource that finished (or failed) and the engine's summary: what a CI log shows of an `up`.
ENGINE_EVENT = re.compile(r"\b(created|updated|deleted|replaced|failed|error)\b.*\(\d+s\)|^(Duration|Resources):|error:")


def pulumi(env, *args, check=True, timeout=2400):
    # As bin/main runs it: yielding to the emulated hosts that share this machine's cores.
    result = run_streamed(["nice", "-n", "10", "pulumi", *args, "--stack", "lab"], env=env, timeout=capped(timeout),
                          show=lambda line: ENGINE_EVENT.search(line) is not None, label=f"pulumi {args[0]}: ")
    return _logged(f"pulumi {' '.join(args)}", args[0], result, check)


def main_job(env, *up_args, timeout=3600):
    """The README's `bin/main` (set-up, `lab up`, `pulumi up --stack lab`), on this run's backend:
    the lab that is up is reused, so it is the stack's `up` as an operator runs it."""
    main_env = dict(env, HASTACK_PULUMI_BACKEND_URL=env["PULUMI_BACKEND_URL"], HASTACK_PULUMI_HOME=env["PULUMI_HOME"])
    result = run_streamed([str(ROOT / "bin" / "main"), *up_args], env=main_env, timeout=capped(timeout),
                          show=lambda line: ENGINE_EVENT.search(line) is not None or line.startswith("main: "),
                          label="bin/main: ")
    return _logged(" ".join(["bin/main", *up_args]), "main", result, check=True)


def _logged(shown: str, name: str, result, check: bool):
    """RESULT's whole output kept in LOGS (numbered, NAME), and a failure raised with Pulumi's diagnostics."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{next(_commands):02d}-{name}.log"
    log.write_text(f"$ {shown}\nexit {result.returncode}\n{result.stdout}\n--- stderr ---\n{result.stderr}")
    if check and result.returncode != 0:
        raise AssertionError(f"{shown} exited {result.returncode} (whole output: {log})\n"
                             f"{diagnostics(result.stdout)}\nstderr:\n{result.stderr[-2000:]}")
    return result


def pcmk(node: str) -> str:
    """A lab node's Pacemaker name: its host's `uname -n`."""
    from hastack.config.load import load_stack

    config = load_stack("lab")
    nodes = list(config.hypervisor.nodes) + list(config.guest.nodes)
    return next(n.pacemaker_name for n in nodes if n.name == node)


def crm_mon(node="node1") -> dict:
    return parse_crm_mon(ssh(node, "crm_mon -1 --output-as=xml").stdout)


def config() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.lab.yaml").read_text())


# Every CIB the cluster acted on.  The scheduler on the DC saves each input it computes a
# transition from (/var/lib/pacemaker/pengine/pe-input-N.bz2, pe-warn-N.bz2 when it warned), and
# nothing starts except through a transition: a resource that could have started without its
# constraints would be unguarded in one of them.  Exact where polling the CIB is a sample, and
# free where polling cost an emulated host's CPU (cibadmin every 0.5 s on a one-vCPU host).
SCHEDULER_INPUTS = "/var/lib/pacemaker/pengine"


def scheduler_inputs(node: str) -> list[tuple[str, str]]:
    """(file, CIB) for every scheduler input on the node (the DC may have moved)."""
    listing = (f"cd {SCHEDULER_INPUTS} 2>/dev/null || exit 0; "
               "for f in $(ls -v pe-input-*.bz2 pe-warn-*.bz2 2>/dev/null); do "
               "echo \"<!--input $f-->\"; bzcat $f; done")
    parts = ssh(node, listing, timeout=600).stdout.split("<!--input ")[1:]
    return [(f"{node}:{name}", cib) for name, cib in (part.split("-->", 1) for part in parts)]


def firewall_rules(node: str) -> list[tuple]:
    """(proto, first port, sources) of each rule in hastack's chain on NODE, as the host holds
    them; None when the chain does not exist."""
    from hastack.resources.firewall import CHAIN, parse_nft_chain

    result = ssh(node, f"nft -j list chain inet filter {CHAIN}", check=False)
    if result.returncode != 0:
        return None
    rules, foreign = parse_nft_chain(result.stdout)
    assert foreign == 0, f"{node}: {foreign} rule(s) in {CHAIN} of a shape hastack never writes"
    return [(r.proto, r.ports[0], r.sources) for r in rules]


def wanted_firewall_rules(node: str, document: dict | None = None) -> list[tuple]:
    """What hastack's Firewall opens on NODE for the lab stack (or DOCUMENT, a changed copy of its file)."""
    from hastack.config.load import unseal, validate
    from hastack.resources.firewall import layer_openings

    raw = {k.split(":", 1)[1]: v for k, v in (document or config())["config"].items() if k.startswith("hastack:")}
    stack = validate(unseal(raw))
    layer = "hypervisor" if node in HYPERVISORS else "guest"
    return [(o.proto, o.ports[0], o.sources) for o in layer_openings(stack, layer)[node]]
