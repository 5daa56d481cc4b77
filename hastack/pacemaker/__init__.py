"""Pacemaker's objects, one module per kind, as pcs's own library lays them out (pcs/lib/cib/...).

Each module holds a kind's spec (frozen pydantic data), the pcs argv that create, update and
delete it (without the leading `pcs -f FILE`), its reading from a CIB in the spec's own shape, and
what of it hastack compares.  Render, the providers, the policy pack and `simulate` all use them.

The resource a provider manages has the shape of a host resource (hastack/resources/base.py:
PROPS, LIVE, COMPARED, REPLACED, resource_id, observe, drifted, plan_create/update/delete), but
`observe(props, cib_xml)` reads a CIB the provider fetched (one `cibadmin --query`), and
plan_create takes no `found`.  Optional: `replaces(olds, news, live)` (fields a change or drift
replaces), ADOPTS_EXISTING (create takes over an object that exists as configured), and
`start_wait(props, created)` (what create and update wait for).

  common.py          the spec base, argv pieces, nvpair reading, Pacemaker scores, the CIB plan
  primitive.py       a primitive and its clone (plain or promotable); enable and disable (PcsResource)
  stonith.py         a fence device and the location that keeps it off the node it fences (StonithDevice)
  constraint.py      location, colocation and order constraints (PcsConstraint)
  alert.py           an alert and its recipients
  cluster_config.py  cluster properties, resource defaults and alerts, as one object (PcsClusterConfig)
  enable.py          a primitive created disabled let start: its target-role (PcsResourceEnable)
"""
