"""Pacemaker's objects, one module per kind, as pcs's own library lays them out (pcs/lib/cib/...).

Each module holds a kind's spec (frozen pydantic data), the pcs argv that create, update and
delete it (without the leading `pcs -f FILE`), its reading from a CIB in the spec's own shape, and
what of it hastack compares.  Render, the providers, the policy pack and `simulate` all use them.

  common.py          the spec base, argv pieces, nvpair reading, Pacemaker scores, the CIB plan
  primitive.py       a primitive and its clone (plain or promotable); enable and disable
  stonith.py         a fence device and the location that keeps it off the node it fences
  constraint.py      location, colocation and order constraints
  alert.py           an alert and its recipients
  cluster_config.py  cluster properties, resource defaults and alerts, as one object
"""
