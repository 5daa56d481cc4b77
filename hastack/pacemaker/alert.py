"""An alert and its recipients (pcs/lib/cib/alert.py): the spec, the pcs argv that create and
delete it, and its reading from a CIB in the spec's own shape."""
from __future__ import annotations

from hastack.pacemaker.common import Argv, Spec, cib_root


class AlertSpec(Spec):
    id: str
    path: str
    recipients: tuple[tuple[str, str], ...] = ()  # (recipient id, value)


def create_argvs(spec: AlertSpec) -> list[Argv]:
    argvs = [["alert", "create", f"id={spec.id}", f"path={spec.path}"]]
    for recipient_id, value in spec.recipients:
        argvs.append(["alert", "recipient", "add", spec.id, f"value={value}", f"id={recipient_id}"])
    return argvs


def delete_argv(spec: AlertSpec) -> Argv:
    return ["alert", "delete", spec.id]


def read(cib_xml: str, alert_id: str) -> AlertSpec | None:
    for alert in cib_root(cib_xml).iter("alert"):
        if alert.get("id") == alert_id:
            return AlertSpec(id=alert_id, path=alert.get("path", ""),
                             recipients=tuple((r.get("id"), r.get("value")) for r in alert.iter("recipient")))
    return None
