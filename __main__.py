"""hastack: the Pulumi program.  Config is validated in full before any resource exists."""
import json
import sys

import pulumi

from components.stack import build_stack
from hastack.config.load import KEYS, NAMESPACE, validate
from hastack.reports import ConfigError


def stack_config():
    raw = {}
    for key in KEYS:
        value = pulumi.runtime.get_config(f"{NAMESPACE}:{key}")
        if value is not None:
            raw[key] = json.loads(value)
    try:
        return validate(raw, f"Pulumi.{pulumi.get_stack()}.yaml")
    except ConfigError as error:
        # One clear message, no traceback: nothing has been touched yet.
        pulumi.log.error(f"ERROR {error}")
        sys.exit(1)


build_stack(stack_config())
