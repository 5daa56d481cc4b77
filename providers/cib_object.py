"""The provider of a Pacemaker object, over its kind's module (hastack/pacemaker/<kind>.py): plans
are CibEdits, the live state is read from one `cibadmin --query` on whichever node answers, and a
kind with `start_wait` (fence devices, enabling) returns from create and update only once what it
let start runs (hastack/start_wait.py), polled through the same transports as the edit."""
from __future__ import annotations

from pulumi.dynamic import CreateResult

from hastack.apply import apply_live
from hastack.cib import LiveCib
from hastack.plan import CLUSTER
from hastack.reports import HastackError
from hastack.start_wait import wait_running_or_undo
from providers.base import KindProvider, Props, kind_resource, normalized


class CibObjectProvider(KindProvider):
    def plan_create(self, props: Props):
        return self.kind.plan_create(props)

    def observe(self, props: Props, transport_for):
        return self.kind.observe(props, LiveCib(transport_for(CLUSTER)).configuration())

    def unrecorded_live(self, props: Props):
        """A CIB plan names what it deletes, so it must know what the CIB holds: read it now."""
        return self.observe(props, self.connect(props))

    def create(self, props: dict) -> CreateResult:
        p = self._props(props)
        transport_for = self.connect(p)
        try:
            apply_live(self.plan_create(p), transport_for)
        except HastackError as create_error:
            # Looked at only when the create failed (its CIB edit is all or nothing), so a create
            # that succeeds costs no extra query.  If the look fails too, the create's error stands.
            if not getattr(self.kind, "ADOPTS_EXISTING", False):
                raise
            try:
                adopted = self._adopted(p, transport_for)
            except HastackError as error:
                if error.code == "EXISTS_DIFFERENT":
                    raise
                raise create_error from None
            if not adopted:
                raise
        self._wait(p, created=True)
        return CreateResult(self.resource_id(p), outs=dict(props))

    def update(self, _id: str, olds: dict, news: dict):
        result = super().update(_id, olds, news)
        self._wait(self._props(news), created=False)
        return result

    def _wait(self, props: Props, created: bool = True) -> None:
        start_wait = getattr(self.kind, "start_wait", None)
        if start_wait:
            wait_running_or_undo(self.connect(props), *start_wait(props, created))

    def _adopted(self, p: Props, transport_for) -> bool:
        """True when the object exists as configured (nothing to do); False when it does not
        exist (the create's own error stands); EXISTS_DIFFERENT when it exists otherwise: hastack
        never overwrites an object it did not create (`pulumi import` cannot work for dynamic
        providers: pulumi/pulumi#16175)."""
        live = self.observe(p, transport_for)
        if live is None:
            return False
        drift = self.kind.drifted(p, live)
        if drift:
            held, wanted = live.model_dump(mode="json"), p.model_dump(mode="json")
            differences = "; ".join(f"{field}: live {normalized(held.get(field))!r}, configured {normalized(wanted.get(field))!r}"
                                    for field in drift)
            raise HastackError("EXISTS_DIFFERENT", (
                f"{self.resource_id(p)} already exists on the {p.layer} cluster and differs from the "
                f"config ({differences}). hastack adopts an existing object only when it matches: make "
                "the config describe it (the next `up` adopts it, then changes it as configured) or "
                "remove it from the cluster by hand."))
        return True


def cib_resource(type_name: str, kind, module: str):
    """(provider class, resource class) of the Pacemaker object kind KIND."""
    return kind_resource(type_name, CibObjectProvider, kind, module)
