"""PcsConstraint: a location, colocation (with roles) or order (with actions) constraint.
What it is, its argv, its reading and its comparison: hastack/pacemaker/constraint.py."""
from hastack.pacemaker import constraint
from providers.cib_object import cib_resource

PcsConstraintProvider, PcsConstraint = cib_resource("PcsConstraint", constraint, __name__)
